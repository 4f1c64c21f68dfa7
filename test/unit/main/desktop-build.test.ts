// `npm run build:desktop` output, as the installers ship it: main, preload, engine entry, CLI and
// worker threads bundled into one folder; the bundled CLI publishes (worker threads included)
// and the bundled engine starts and reports ready.
import { execFile, fork } from 'node:child_process'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { build } from 'vite'
import { describe, expect, it, onTestFinished } from 'vitest'
import * as v from 'valibot'
import { engineReadySchema } from '../../../shared/ipc-contract.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../..', import.meta.url))
const tempDir = useTempDirs()

describe('desktop bundle', () => {
  it('bundles into one folder whose CLI and engine run without the sources', async () => {
    // Inside the repo, so the bundle finds node_modules the way the packaged app does.
    await mkdir(join(root, 'node_modules', '.cache'), { recursive: true })
    const out = await mkdtemp(join(root, 'node_modules', '.cache', 'desktop-build-'))
    onTestFinished(() => rm(out, { recursive: true, force: true }))
    const configFile = join(root, 'main', 'vite.config.ts')
    await build({ configFile, logLevel: 'silent', build: { outDir: out } })
    await build({ configFile, mode: 'preload', logLevel: 'silent', build: { outDir: out } })
    const files = await readdir(out)
    for (const f of ['index.js', 'engine-entry.js', 'shoal.js', 'preload.cjs', 'placement-worker.js', 'release-worker.js']) expect(files).toContain(f)

    // A sandboxed preload may require only electron: everything else must be inlined.
    const preload = await readFile(join(out, 'preload.cjs'), 'utf8')
    expect([...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1])).toEqual(['electron'])
    expect(await readFile(join(out, 'index.js'), 'utf8')).not.toMatch(/from ["']\.\.\/(app|shared)\//)

    const work = await tempDir()
    const cli = (...args: string[]) => run(process.execPath, [join(out, 'shoal.js'), '--data-dir', join(work, 'data'), ...args], { cwd: work })
    await cli('keygen', '--out', 'keys')
    await mkdir(join(work, 'build'))
    await writeFile(join(work, 'build', 'asset.bin'), Buffer.alloc(3 * 1024 * 1024, 7))
    const published = await cli('publish', 'build', '--product', 'p', '--version', '1.0.0', '--channel', 'stable', '--key', 'keys/publisher.key', '--out', 'cdn', '--json')
    expect(JSON.parse(published.stdout.trim().split('\n').at(-1)!)).toMatchObject({ event: 'result', version: '1.0.0', bytes: 3 * 1024 * 1024 })

    const shim = fileURLToPath(new URL('./utility-parent-port.ts', import.meta.url))
    const engine = fork(join(out, 'engine-entry.js'), ['--data-dir', join(work, 'engine'), '--policy', join(work, 'none.json')], { execArgv: ['--import', shim], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    try {
      const ready = await new Promise<unknown>((resolve, reject) => {
        engine.once('message', resolve)
        engine.once('exit', (code) => reject(new Error(`engine exited with ${code}`)))
      })
      const { url, token } = v.parse(engineReadySchema, ready)
      const res = await fetch(`${url}/api/status`, { headers: { authorization: `Bearer ${token}` } })
      expect(((await res.json()) as { apiVersion: number }).apiVersion).toBe(1)
    } finally {
      engine.kill()
    }
  })
})
