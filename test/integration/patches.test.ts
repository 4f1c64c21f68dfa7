// Per-file patches (issue 17): publish makes them, the client applies them from the installed
// version, falls back to chunks when a patch cannot build its file, survives a kill -9 while
// applying, and peers serve patch bytes like any other piece.
import { createHash } from 'node:crypto'
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { seededBytes, seededText } from '../../app/demo/sample-build.ts'
import { infoHash, torrentInfoOf } from '../../app/release/torrent.ts'
import type { Manifest } from '../../shared/release-schema.ts'
import { startNginx, type Nginx } from '../support/nginx.ts'
import { makeFixture, type Fixture } from '../support/release-fixture.ts'
import { runCli } from '../support/run-cli.ts'
import { startCli } from '../support/long-running-cli.ts'
import { useTempDirs } from '../support/temp-dir.ts'
import { treeHash } from '../support/tree-hash.ts'

const tempDir = useTempDirs()
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A recompiled binary, as far as chunks see it: one byte in every 4 KiB differs, so every chunk does. */
function recompiled(bytes: Buffer, seed: number): Buffer {
  const out = Buffer.from(bytes)
  for (let i = 7 + seed; i < out.length; i += 4096) out[i]! ^= 0x5a
  return out
}

async function writeTree(dir: string, files: Record<string, Buffer>): Promise<void> {
  for (const [path, bytes] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), bytes)
  }
}

const exe = seededBytes('exe', 3 * 1024 * 1024)
const lib = seededBytes('lib', 1024 * 1024)
const v1Files = { 'bin/game.exe': exe, 'lib/old-name.so': lib, 'data/assets.pak': seededBytes('assets', 2 * 1024 * 1024), 'data/readme.txt': seededText('readme', 64 * 1024) }
// The executable is rebuilt, the library rebuilt under a new name, the readme edited, the assets
// kept, and a new level added (chunks only: there is nothing to patch it from).
const v2Files = {
  'bin/game.exe': recompiled(exe, 0),
  'lib/new-name.so': recompiled(lib, 0),
  'data/assets.pak': v1Files['data/assets.pak'],
  'data/readme.txt': Buffer.concat([v1Files['data/readme.txt'], Buffer.from('\nnew line\n')]),
  'data/new-level.pak': seededBytes('level', 512 * 1024),
}
const PATCHED = 3

interface PatchedPair {
  readonly f: Fixture
  readonly nginx: Nginx
  readonly pub: string
  readonly channel: string
  readonly v2Build: string
  readonly v2: Manifest
}

/** 1.0.0 and 1.1.0 built from the files above, on one channel; `before` runs between the two publishes (installs of 1.0.0). */
async function patchedPair(dir: string, before: (p: Omit<PatchedPair, 'v2'>) => Promise<void>): Promise<PatchedPair> {
  const f = await makeFixture(dir, 64 * 1024)
  const v1Build = join(dir, 'v1')
  const v2Build = join(dir, 'v2')
  await writeTree(v1Build, v1Files)
  await writeTree(v2Build, v2Files)
  expect((await f.publish(v1Build, '1.0.0')).code).toBe(0)
  const nginx = await startNginx(f.cdn, join(dir, 'nginx'))
  cleanups.push(() => nginx.stop())
  const pair = { f, nginx, pub: join(f.keyDir, 'publisher.pub'), channel: `${nginx.url}/game/channels/stable.json`, v2Build }
  await before(pair)
  const published = await f.publish(v2Build, '1.1.0')
  expect(published.code, published.stderr).toBe(0)
  return { ...pair, v2: await f.readManifest('1.1.0') }
}

async function get(p: Pick<PatchedPair, 'channel' | 'pub'>, dir: string, name: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  return runCli(['get', p.channel, '--pubkey', p.pub, '--dir', join(dir, name), '--json', ...extra], { SHOAL_DATA_DIR: join(dir, `data-${name}`), ...env })
}

type PatchReport = { applied: number; bytes: number; fellBack: { path: string; code: string; reason: string }[]; applyCpuSeconds: number }

describe('per-file patches', () => {
  it('are published where they beat chunks, and an update with patches and chunks installs the exact new tree', async () => {
    const dir = await tempDir()
    const p = await patchedPair(dir, async (p) => expect((await get(p, dir, 'a')).code).toBe(0))
    const patched = (p.v2.patches ?? []).map((x) => ({ path: p.v2.files[x.file]!.path, from: x.fromVersion }))
    expect(patched).toEqual([
      { path: 'bin/game.exe', from: '1.0.0' },
      { path: 'data/readme.txt', from: '1.0.0' },
      { path: 'lib/new-name.so', from: '1.0.0' },
    ])
    // Chunks alone would ship the two rebuilt files almost whole (random bytes do not compress).
    const patchBytes = p.v2.patches!.reduce((n, x) => n + x.size, 0)
    expect(patchBytes).toBeLessThan((exe.length + lib.length) / 20)
    expect((await stat(join(p.f.cdn, 'game', '1.1.0', 'pack.patches'))).size).toBe(patchBytes)
    const inspect = await runCli(['inspect', p.f.pointerPath, '--pubkey', p.pub, '--json'])
    expect(inspect.last['patches']).toEqual(p.v2.patches!.map((x) => ({ path: p.v2.files[x.file]!.path, fromVersion: '1.0.0', size: x.size })))

    const sent = await p.nginx.bodyBytesSent(/1\.1\.0\/pack\./)
    const update = await get(p, dir, 'a')
    expect(update.code, update.stderr).toBe(0)
    const report = update.last['patches'] as PatchReport
    expect(report).toMatchObject({ applied: PATCHED, bytes: patchBytes, fellBack: [] })
    expect(report.applyCpuSeconds).toBeGreaterThan(0)
    expect(await treeHash(join(dir, 'a'))).toEqual(await treeHash(p.v2Build))
    // The rebuilt files came as patches: the release's chunk store gave only the new level.
    expect((await p.nginx.bodyBytesSent(/1\.1\.0\/pack\./)) - sent).toBeLessThan(patchBytes + 512 * 1024 + 64 * 1024)
    const written = update.last['written'] as Record<string, number>
    expect(Object.values(written).reduce((a, b) => a + b, 0)).toBe(update.last['totalBytes'])

    // A fresh install of 1.1.0 has nothing to patch from: chunks only.
    const fresh = await get(p, dir, 'fresh')
    expect((fresh.last['patches'] as PatchReport).applied).toBe(0)
    expect(await treeHash(join(dir, 'fresh'))).toEqual(await treeHash(p.v2Build))

    // 1.2.0 patches from the two previous versions by default, and from none with 0.
    await writeFile(join(p.v2Build, 'bin/game.exe'), recompiled(exe, 1))
    expect((await p.f.publish(p.v2Build, '1.2.0')).code).toBe(0)
    const v3 = await p.f.readManifest('1.2.0')
    expect(v3.patches!.filter((x) => v3.files[x.file]!.path === 'bin/game.exe').map((x) => x.fromVersion)).toEqual(['1.1.0', '1.0.0'])
    await writeFile(join(p.v2Build, 'bin/game.exe'), recompiled(exe, 2))
    expect((await p.f.publish(p.v2Build, '1.3.0', ['--patch-from-versions', '0'])).code).toBe(0)
    expect((await p.f.readManifest('1.3.0')).patches).toBeUndefined()
  })

  it('an installed file that differs from the one a patch was made from is refused, and its file comes from chunks', async () => {
    const dir = await tempDir()
    const p = await patchedPair(dir, async (p) => {
      expect((await get(p, dir, 'a')).code).toBe(0)
      // Same size, one byte changed: the installed manifest still names the old SHA-256.
      const path = join(dir, 'a', 'bin/game.exe')
      const bytes = await readFile(path)
      bytes[12345]! ^= 1
      await writeFile(path, bytes)
    })
    const update = await get(p, dir, 'a')
    expect(update.code, update.stderr).toBe(0)
    const report = update.last['patches'] as PatchReport
    expect(report.applied).toBe(PATCHED - 1)
    expect(report.fellBack).toEqual([{ path: 'bin/game.exe', code: 'E_VERIFY', reason: expect.stringMatching(/installed file .* differs/) as unknown as string }])
    expect(await treeHash(join(dir, 'a'))).toEqual(await treeHash(p.v2Build))
  })

  it('a validly signed patch whose output does not match gives E_VERIFY and falls back to chunks', async () => {
    const dir = await tempDir()
    const p = await patchedPair(dir, async (p) => expect((await get(p, dir, 'a')).code).toBe(0))
    await corruptPatch(p.f, p.v2, 0)
    const update = await get(p, dir, 'a')
    expect(update.code, update.stderr).toBe(0)
    const report = update.last['patches'] as PatchReport
    expect(report.fellBack).toEqual([{ path: 'bin/game.exe', code: 'E_VERIFY', reason: expect.any(String) as unknown as string }])
    expect(await treeHash(join(dir, 'a'))).toEqual(await treeHash(p.v2Build))
  })

  it('a kill -9 while patches are applied leaves the old version intact, and the rerun completes', async () => {
    const dir = await tempDir()
    const p = await patchedPair(dir, async (p) => expect((await get(p, dir, 'a')).code).toBe(0))
    const v1Tree = await treeHash(join(dir, 'a'))
    const killed = await get(p, dir, 'a', [], { SHOAL_CRASH_AT: 'patch-applied' })
    expect(killed.code).not.toBe(0)
    expect(killed.events.some((e) => e['event'] === 'done')).toBe(false)
    expect(await treeHash(join(dir, 'a'))).toEqual(v1Tree)
    const rerun = await get(p, dir, 'a')
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(rerun.last['resumed']).toBe(true)
    expect((rerun.last['patches'] as PatchReport).applied).toBe(PATCHED)
    expect(await treeHash(join(dir, 'a'))).toEqual(await treeHash(p.v2Build))
  })

  it('peers serve patch bytes: a seeder that updated with patches hands them to a peer the CDN refuses them to', async () => {
    const dir = await tempDir()
    const p = await patchedPair(dir, async (p) => {
      expect((await get(p, dir, 'a')).code).toBe(0)
      expect((await get(p, dir, 'b')).code).toBe(0)
    })
    expect((await get(p, dir, 'a')).code).toBe(0)
    const seeder = startCli(['seed', '--dir', join(dir, 'a'), '--pubkey', p.pub], { SHOAL_DATA_DIR: join(dir, 'data-a') })
    cleanups.push(() => seeder.stop())
    const { port } = (await seeder.waitFor('seeding')) as { port: number }
    await rm(join(p.f.cdn, 'game', '1.1.0', 'pack.patches'))

    const update = await get(p, dir, 'b', ['--peer', `127.0.0.1:${port}`, '--finish-slip', 'off'])
    expect(update.code, update.stderr).toBe(0)
    expect((update.last['patches'] as PatchReport).applied).toBe(PATCHED)
    expect((update.last['written'] as Record<string, number>)['lan']).toBeGreaterThanOrEqual(p.v2.patches!.reduce((n, x) => n + x.size, 0))
    expect(await treeHash(join(dir, 'b'))).toEqual(await treeHash(p.v2Build))
  })
})

/**
 * Flips a byte in the middle of patch `k` on the CDN and re-signs the manifest to match (chunk
 * digest, piece hashes, infohash): a publisher bug, not an attack, so every signature holds.
 */
async function corruptPatch(f: Fixture, m: Manifest, k: number): Promise<void> {
  const patch = m.patches![k]!
  const section = m.pack.sections.at(-1)!
  const storePath = join(f.cdn, 'game', section.store.path)
  const store = await readFile(storePath)
  const at = patch.storeOffset + Math.floor(patch.size / 2)
  store[at]! ^= 0xff
  await writeFile(storePath, store)
  await f.forge((forged) => {
    const digests = Buffer.from(forged.chunks.sha256, 'base64')
    let from = patch.storeOffset
    for (const c of patch.chunks) {
      const size = forged.chunks.size[c]!
      createHash('sha256').update(store.subarray(from, from + size)).digest().copy(digests, c * 32)
      from += size
    }
    forged.chunks.sha256 = digests.toString('base64')
    const pieces = Buffer.from(forged.pack.pieces, 'base64')
    const pieceLength = forged.pack.pieceLength
    const firstPiece = section.offset / pieceLength
    for (let j = 0; j * pieceLength < section.length; j++) {
      const raw = Buffer.alloc(pieceLength)
      store.copy(raw, 0, j * pieceLength, Math.min(store.length, (j + 1) * pieceLength))
      createHash('sha1').update(raw).digest().copy(pieces, (firstPiece + j) * 20)
    }
    forged.pack.pieces = pieces.toString('base64')
    forged.pack.infoHash = infoHash(torrentInfoOf(forged))
  })
}
