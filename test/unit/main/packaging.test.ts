// The installer configuration, checked with electron-builder's own loader, validator and hook
// resolver, plus the scripts the installers run (the toolchains that build installers cannot be
// fetched here; README, "Release builds").
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { access, constants, copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config.js'
import { resolveFunction } from 'app-builder-lib/out/util/resolve.js'
import { DebugLogger } from 'builder-util'
import { beforeAll, describe, expect, it } from 'vitest'
import { addShoalPolicy, POLICY_PROPERTIES } from '../../../resources/windows/msi-project-created.mjs'
import { useTempDirs } from '../../support/temp-dir.ts'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../..', import.meta.url))
const at = (p: string) => join(root, p)
const tempDir = useTempDirs()

type Config = Awaited<ReturnType<typeof getConfig>>
type TargetList = { target?: unknown }
const targetsOf = (section: unknown) => ((section as TargetList).target as string[]).slice().sort()

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  )
}

describe('electron-builder.yml', () => {
  let config: Config
  beforeAll(async () => {
    config = await getConfig(root, null, null)
    await validateConfiguration(config, new DebugLogger(false))
  })

  it('builds NSIS + MSI per machine, dmg + pkg, AppImage + deb', () => {
    expect(targetsOf(config.win)).toEqual(['msi', 'nsis'])
    expect(targetsOf(config.mac)).toEqual(['dmg', 'pkg'])
    expect(targetsOf(config.linux)).toEqual(['AppImage', 'deb'])
    expect(config.nsis).toMatchObject({ perMachine: true, oneClick: false })
    expect(config.msi).toMatchObject({ perMachine: true })
    expect(config.extraMetadata).toEqual({ main: 'out/main/index.js' })
  })

  it('signs and notarizes on macOS with the hardened runtime; Windows signing uses sha256 with a timestamp', () => {
    expect(config.mac).toMatchObject({ hardenedRuntime: true, notarize: true })
    expect(config.win?.signtoolOptions).toMatchObject({ signingHashAlgorithms: ['sha256'] })
    expect(config.electronFuses).toMatchObject({ enableNodeOptionsEnvironmentVariable: false, enableNodeCliInspectArguments: false, onlyLoadAppFromAsar: true })
  })

  it('every file the config names exists, and installer scripts are executable', async () => {
    const files = [
      config.nsis!.include!,
      config.mac!.entitlements!,
      config.mac!.icon!,
      config.win!.icon!,
      config.linux!.icon!,
      ...[config.win, config.mac, config.linux].flatMap((s) => (s!.extraResources as { from: string }[]).map((r) => r.from)),
      'resources/windows/write-policy.ps1',
      'resources/windows/shoal-agent-service.xml',
    ]
    for (const f of files) await expect(stat(at(f as string)), f as string).resolves.toBeTruthy()
    const pkgScripts = join(at(config.directories!.buildResources!), config.pkg!.scripts!)
    for (const script of [join(pkgScripts, 'postinstall'), at(config.deb!.afterInstall!), at(config.deb!.afterRemove!)]) {
      expect(await isExecutable(script), script).toBe(true)
      await run('sh', ['-n', script])
    }
  })

  it("the MSI hook resolves through electron-builder's hook loader and adds the policy properties and actions", async () => {
    const hook = (await resolveFunction(undefined, config.msiProjectCreated, 'msiProjectCreated', root)) as (file: string) => Promise<void>
    expect(typeof hook).toBe('function')
    const project = join(await tempDir(), 'project.wxs')
    // electron-builder's own template, as rendered with runAfterFinish off (our config): without its execute sequence.
    const template = await readFile(join(root, 'node_modules/app-builder-lib/templates/msi/template.xml'), 'utf8')
    const rendered = template.replace(/\{\{ if \(isRunAfterFinish\) \{ \}\}[\s\S]*?(?=\{\{ if \(isPerMachine\))/, '')
    expect(rendered).not.toContain('<InstallExecuteSequence>')
    await writeFile(project, rendered)
    await hook(project)
    const wxs = await readFile(project, 'utf8')
    for (const [property, parameter] of POLICY_PROPERTIES) {
      expect(wxs).toContain(`<Property Id="${property}" Secure="yes"/>`)
      expect(wxs).toContain(`-${parameter} &quot;[${property}]&quot;`)
    }
    expect(wxs).toMatch(/<CustomAction Id="ShoalWritePolicy" [^>]*Execute="deferred" Impersonate="no"/)
    expect(wxs).toContain('<Custom Action="ShoalWritePolicy" Before="InstallFinalize">NOT REMOVE</Custom>')
    expect(wxs.match(/<InstallExecuteSequence>/g)).toHaveLength(1)
    expect(wxs.indexOf('ShoalWritePolicy')).toBeLessThan(wxs.lastIndexOf('</Product>'))
    expect(() => addShoalPolicy(wxs)).toThrow(/already has/)
  })

  it('the MSI hook joins an existing execute sequence instead of adding a second one', () => {
    const wxs = addShoalPolicy('<Wix><Product><InstallExecuteSequence><Custom Action="x"/></InstallExecuteSequence></Product></Wix>')
    expect(wxs.match(/<InstallExecuteSequence>/g)).toHaveLength(1)
    expect(wxs).toMatch(/<InstallExecuteSequence>\s*<Custom Action="ShoalWritePolicy"/)
  })
})

describe('macOS pkg postinstall', () => {
  async function volume(): Promise<{ target: string; pkgDir: string }> {
    const base = await tempDir()
    const target = join(base, 'volume')
    const service = join(target, 'Applications/Shoal.app/Contents/Resources/service')
    await mkdir(service, { recursive: true })
    await copyFile(at('resources/macos/dev.shoal.agent.plist'), join(service, 'dev.shoal.agent.plist'))
    const pkgDir = join(base, 'it-share')
    await mkdir(pkgDir)
    return { target, pkgDir }
  }

  it('writes the policy found next to the pkg to /Library/Application Support/Shoal and installs the daemon', async () => {
    const { target, pkgDir } = await volume()
    const policy = JSON.stringify({ settings: { sharing: { mode: 'lan' }, caps: { down: { global: 20_000_000 } } } })
    await writeFile(join(pkgDir, 'shoal-policy.json'), policy)
    await run('sh', [at('resources/macos/pkg-scripts/postinstall'), join(pkgDir, 'Shoal-0.1.0.pkg'), '/Applications', target])
    const written = join(target, 'Library/Application Support/Shoal/policy.json')
    expect(await readFile(written, 'utf8')).toBe(policy)
    expect((await stat(written)).mode & 0o777).toBe(0o644)
    expect(await readFile(join(target, 'Library/LaunchDaemons/dev.shoal.agent.plist'), 'utf8')).toContain('<string>dev.shoal.agent</string>')
  })

  it('without a policy it writes nothing and installs no daemon (a personal install)', async () => {
    const { target, pkgDir } = await volume()
    await run('sh', [at('resources/macos/pkg-scripts/postinstall'), join(pkgDir, 'Shoal-0.1.0.pkg'), '/Applications', target])
    await expect(stat(join(target, 'Library/Application Support/Shoal/policy.json'))).rejects.toThrow()
    await expect(stat(join(target, 'Library/LaunchDaemons/dev.shoal.agent.plist'))).rejects.toThrow()
  })
})

describe('agent service definitions', () => {
  it('the launchd daemon runs the bundled CLI as Node with the machine policy', async () => {
    const plist = await readFile(at('resources/macos/dev.shoal.agent.plist'), 'utf8')
    expect(plist).toMatch(/<key>ELECTRON_RUN_AS_NODE<\/key>\s*<string>1<\/string>/)
    expect(plist).toContain('<string>/Library/Application Support/Shoal/policy.json</string>')
    expect(plist).toContain('<string>agent</string>')
  })

  it('the WinSW service runs the agent with the ProgramData policy', async () => {
    const xml = await readFile(at('resources/windows/shoal-agent-service.xml'), 'utf8')
    expect(xml).toContain('<env name="SHOAL_POLICY" value="%ProgramData%\\Shoal\\policy.json"/>')
    expect(xml).toMatch(/<arguments>.*out\\main\\shoal\.js.* agent /)
  })

  it.skipIf(!existsSync('/usr/bin/systemd-analyze'))('systemd-analyze finds nothing to complain about in the unit (and does complain about a broken one)', async () => {
    const dir = await tempDir()
    const unit = (await readFile(at('resources/linux/shoal-agent.service'), 'utf8')).replace('/opt/Shoal/shoal', '/bin/true')
    await writeFile(join(dir, 'shoal-agent.service'), unit)
    const good = await run('systemd-analyze', ['verify', join(dir, 'shoal-agent.service')])
    expect(good.stderr).toBe('')
    await writeFile(join(dir, 'broken.service'), unit.replace('Restart=on-failure', 'Restart=sometimes'))
    const bad = await run('systemd-analyze', ['verify', join(dir, 'broken.service')])
    expect(bad.stderr).toMatch(/restart specifier/)
  })
})
