import { lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeUpdatedBuild } from '../../app/demo/sample-build.ts'
import { resolveRelease } from '../../app/release/resolve.ts'
import { locationToUrl } from '../../app/release/resource-fetch.ts'
import { startNginx, type Nginx } from '../support/nginx.ts'
import { makeFixture } from '../support/release-fixture.ts'
import { runCli } from '../support/run-cli.ts'
import { useTempDirs } from '../support/temp-dir.ts'

const tempDir = useTempDirs()

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(() => undefined, (err: { code?: string }) => err.code)
}

describe('shoal keygen', () => {
  it('writes a 600 private key and a public key, and never overwrites them', async () => {
    const dir = await tempDir()
    const first = await runCli(['keygen', '--out', dir, '--json'])
    expect(first.code).toBe(0)
    expect(first.last['keyId']).toMatch(/^[0-9a-f]{16}$/)
    expect((await stat(join(dir, 'publisher.key'))).mode & 0o777).toBe(0o600)
    expect(await readFile(join(dir, 'publisher.pub'), 'utf8')).toMatch(/BEGIN PUBLIC KEY/)
    const before = await readFile(join(dir, 'publisher.key'))
    const again = await runCli(['keygen', '--out', dir])
    expect(again.code).not.toBe(0)
    expect(again.stderr).toMatch(/^shoal: E_EXISTS: .*publisher.key already exists/)
    expect(await readFile(join(dir, 'publisher.key'))).toEqual(before)
  })
})

describe('shoal publish and inspect', () => {
  it('round-trips: inspect reports what publish wrote, from a file and over HTTP from nginx', async () => {
    const f = await makeFixture(await tempDir())
    const pub = await f.publish(f.build, '1.0.0')
    expect(pub.code, pub.stderr).toBe(0)
    expect(pub.events.some((e) => e['event'] === 'progress')).toBe(true)
    const nginx: Nginx = await startNginx(f.cdn, await tempDir())
    try {
      for (const location of [f.pointerPath, `${nginx.url}/game/channels/stable.json`]) {
        const run = await runCli(['inspect', location, '--pubkey', join(f.keyDir, 'publisher.pub'), '--json'])
        expect(run.code, run.stderr).toBe(0)
        expect(run.last).toMatchObject({ event: 'result', product: 'game', version: '1.0.0', files: pub.last['files'], bytes: pub.last['bytes'], infoHash: pub.last['infoHash'], packLength: pub.last['packLength'] })
        expect(run.last['pieces']).toBe((pub.last['packLength'] as number) / (256 * 1024))
      }
      const human = await runCli(['inspect', f.pointerPath, '--pubkey', join(f.keyDir, 'publisher.pub')])
      expect(human.stdout).toMatch(/signature ok, manifest hash ok/)
      expect(human.stdout).toMatch(/infohash\s+[0-9a-f]{40}/)
    } finally {
      await nginx.stop()
    }
  })

  it('v2 reuses v1 chunks: its pack section holds only new chunks, at the tail', async () => {
    const dir = await tempDir()
    const f = await makeFixture(dir, 8 * 1024 * 1024)
    expect((await f.publish(f.build, '1.0.0', ['--chunk-min', '1KiB', '--chunk-avg', '4KiB', '--chunk-max', '16KiB'])).code).toBe(0)
    await writeUpdatedBuild(f.build, join(dir, 'build-v2'), 'v2')
    const v2run = await f.publish(join(dir, 'build-v2'), '1.1.0', ['--chunk-min', '1KiB', '--chunk-avg', '4KiB', '--chunk-max', '16KiB'])
    expect(v2run.code, v2run.stderr).toBe(0)
    const v1 = await f.readManifest('1.0.0')
    const v2 = await f.readManifest('1.1.0')
    expect(v2.pack.sections.slice(0, 1)).toEqual(v1.pack.sections)
    const [, section] = v2.pack.sections
    expect(section!.offset).toBe(v1.pack.length)
    expect(section!.firstChunk).toBe(v1.chunks.size.length)
    // Earlier piece hashes are untouched, so v1 seeders serve v2's first section as is.
    expect(v2.pack.pieces.startsWith(v1.pack.pieces.slice(0, -4))).toBe(true)
    const v1Digests = new Set(Buffer.from(v1.chunks.sha256, 'base64').toString('hex').match(/.{64}/g))
    // Then the release's patch section, if any (see patches.test.ts).
    const newDigests = Buffer.from(v2.chunks.sha256, 'base64').subarray(section!.firstChunk * 32, (section!.firstChunk + section!.chunkCount) * 32).toString('hex').match(/.{64}/g)!
    expect(newDigests.length).toBe(section!.chunkCount)
    expect(newDigests.filter((d) => v1Digests.has(d))).toEqual([])
    expect(section!.length).toBeLessThan(v2.totals.bytes / 4)
    expect(v2run.last['newBytes']).toBe(section!.length)
  })

  it('refuses to publish the same version twice, and a downgrade unless allowed', async () => {
    const f = await makeFixture(await tempDir())
    expect((await f.publish(f.build, '2.0.0')).code).toBe(0)
    const twice = await f.publish(f.build, '2.0.0')
    expect(twice.last).toMatchObject({ event: 'error', code: 'E_VERSION_EXISTS' })
    const down = await f.publish(f.build, '1.9.0')
    expect(down.last).toMatchObject({ event: 'error', code: 'E_ROLLBACK' })
    expect((await f.readPointer()).version).toBe('2.0.0')
    const allowed = await f.publish(f.build, '1.9.0', ['--allow-downgrade'])
    expect(allowed.code, allowed.stderr).toBe(0)
    expect(await f.readPointer()).toMatchObject({ version: '1.9.0', sequence: 2 })
  })

  it('refuses unsafe build paths before writing anything', async () => {
    const dir = await tempDir()
    const f = await makeFixture(dir, 64 * 1024)
    const cases: [string, (b: string) => Promise<void>][] = [
      ['case twins', async (b) => (await writeFile(join(b, 'README.txt'), 'a'), writeFile(join(b, 'readme.TXT'), 'b'))],
      ['backslash', (b) => writeFile(join(b, 'a\\b'), 'x')],
      ['reserved name', (b) => writeFile(join(b, 'aux.dat'), 'x')],
      ['symlink', (b) => symlink('/etc/passwd', join(b, 'passwd'))],
    ]
    for (const [name, make] of cases) {
      const build = join(dir, `bad-${name.replace(' ', '-')}`)
      await mkdir(build)
      await make(build)
      const run = await f.publish(build, '1.0.0')
      expect(run.last, name).toMatchObject({ event: 'error', code: 'E_UNSAFE_PATH' })
      expect(await lstat(f.cdn).then(() => true, () => false), name).toBe(false)
    }
  })

  it('gives usage errors a stable code and exit status 2', async () => {
    const run = await runCli(['publish', '/nonexistent', '--json'])
    expect(run.code).toBe(2)
    expect(run.last).toMatchObject({ event: 'error', code: 'E_USAGE' })
    expect(run.stderr).toMatch(/^shoal: E_USAGE: required option/)
  })
})

describe('tampering is caught, each with its own code', () => {
  let f: Awaited<ReturnType<typeof makeFixture>>
  let shared: string
  beforeAll(async () => {
    shared = await mkdtemp(join(tmpdir(), 'shoal-tamper-'))
    f = await makeFixture(shared)
    expect((await f.publish(f.build, '1.0.0')).code).toBe(0)
  })
  afterAll(() => rm(shared, { recursive: true, force: true }))
  const inspect = (extra: string[] = []) => runCli(['inspect', f.pointerPath, '--pubkey', join(f.keyDir, 'publisher.pub'), '--json', ...extra])

  // The manifest as a client without an earlier version fetches it: zstd-compressed.
  const servedManifest = () => join(f.cdn, 'game', '1.0.0', 'manifest.json.zst')

  it('a flipped byte anywhere in the pointer or the manifest', async () => {
    const pointerBytes = await readFile(f.pointerPath)
    const manifestPath = servedManifest()
    const manifestBytes = await readFile(manifestPath)
    const url = locationToUrl(f.pointerPath)
    for (let i = 0; i < 24; i++) {
      const at = Math.floor(((i + 0.5) / 24) * pointerBytes.length)
      const bad = Buffer.from(pointerBytes)
      bad[at]! ^= 0x01
      await writeFile(f.pointerPath, bad)
      expect(await codeOf(resolveRelease(url, f.pub, new Date())), `pointer byte ${at}`).toMatch(/^E_(SIGNATURE)$/)
    }
    await writeFile(f.pointerPath, pointerBytes)
    for (let i = 0; i < 24; i++) {
      const at = Math.floor(((i + 0.5) / 24) * manifestBytes.length)
      const bad = Buffer.from(manifestBytes)
      bad[at]! ^= 0x01
      await writeFile(manifestPath, bad)
      expect(await codeOf(resolveRelease(url, f.pub, new Date())), `manifest byte ${at}`).toBe('E_MANIFEST_HASH')
    }
    await writeFile(manifestPath, manifestBytes)
    const run = await inspect()
    expect(run.code).toBe(0)
  })

  it('a manifest flip through the CLI names the check', async () => {
    const manifestPath = servedManifest()
    const good = await readFile(manifestPath)
    const bad = Buffer.from(good)
    bad[100]! ^= 0x20
    await writeFile(manifestPath, bad)
    const run = await inspect()
    await writeFile(manifestPath, good)
    expect(run.code).toBe(1)
    expect(run.last).toMatchObject({ code: 'E_MANIFEST_HASH' })
    expect(run.stderr).toMatch(/manifest \S+manifest.json.zst (decompresses to SHA-256 [0-9a-f]+, but the pointer names|does not decompress to the \d+ bytes the pointer names)/)
  })

  it('a wrong public key', async () => {
    const other = await tempDir()
    await runCli(['keygen', '--out', other])
    const run = await runCli(['inspect', f.pointerPath, '--pubkey', join(other, 'publisher.pub'), '--json'])
    expect(run.last).toMatchObject({ code: 'E_SIGNATURE' })
    expect(run.stderr).toMatch(/signed by key/)
  })

  it('an expired pointer', async () => {
    const dir = await tempDir()
    const g = await makeFixture(dir, 64 * 1024)
    expect((await g.publish(g.build, '1.0.0', ['--expires-in', '1ms'])).code).toBe(0)
    await new Promise((r) => setTimeout(r, 10))
    const run = await runCli(['inspect', g.pointerPath, '--pubkey', join(g.keyDir, 'publisher.pub'), '--json'])
    expect(run.last).toMatchObject({ code: 'E_EXPIRED' })
  })

  it('validly signed but hostile manifests: unsafe path, wrong infohash, bad offsets, oversize, version mismatch', async () => {
    const snapshot = async () => [await readFile(f.pointerPath), await readFile(join(f.cdn, 'game', '1.0.0', 'manifest.json'))] as const
    const [pointer, manifest] = await snapshot()
    const restore = async () => (await writeFile(f.pointerPath, pointer), writeFile(join(f.cdn, 'game', '1.0.0', 'manifest.json'), manifest))
    const cases: [string, Parameters<typeof f.forge>[0], string, Parameters<typeof f.forge>[1]?][] = [
      ['parent path', (m) => void (m.files[0]!.path = '../../etc/cron.d/x'), 'E_UNSAFE_PATH'],
      ['absolute path', (m) => void (m.files[0]!.path = '/etc/passwd'), 'E_UNSAFE_PATH'],
      ['case twin', (m) => void (m.files[1]!.path = m.files[0]!.path.toUpperCase()), 'E_UNSAFE_PATH'],
      ['drive letter', (m) => void (m.files[0]!.path = 'C:/Windows/x.dll'), 'E_UNSAFE_PATH'],
      ['infohash', (m) => void (m.pack.infoHash = '0'.repeat(40)), 'E_INFOHASH'],
      ['chunk out of range', (m) => void m.files[0]!.chunks.push(10_000_000), 'E_SCHEMA'],
      ['file size lie', (m) => void (m.files[0]!.size += 1), 'E_SCHEMA'],
      ['too many trackers', (m) => void (m.pack.announce = Array.from({ length: 100 }, (_, i) => `http://t${i}.example/announce`)), 'E_LIMIT'],
      ['version mismatch', (m) => void (m.version = '9.9.9'), 'E_SCHEMA'],
      ['mode', (m) => void ((m.files[0] as { mode: number }).mode = 0o4755), 'E_SCHEMA'],
    ]
    for (const [name, edit, code, editPointer] of cases) {
      await f.forge(edit, editPointer)
      const run = await inspect()
      expect(run.last, name).toMatchObject({ event: 'error', code })
      await restore()
    }
    expect((await inspect()).code).toBe(0)
    expect(await readdir(join(f.cdn, 'game'))).toEqual(['1.0.0', 'channels', 'lineage.json'])
  })
})
