import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import WebTorrent, { type ClientOptions, type Torrent } from 'webtorrent'
import { afterEach, describe, expect, it } from 'vitest'
import { InstallPieceStore, pieceStoreLayout, torrentBitfield } from '../../app/engine/storage/install-piece-store.ts'
import { makeFixture } from '../support/release-fixture.ts'
import { useTempDirs } from '../support/temp-dir.ts'
import { contentOnly, createSparseTree, treeHash } from '../support/tree-hash.ts'

const tempDir = useTempDirs()
// Nothing leaves loopback: no DHT, LSD, UPnP, NAT-PMP, trackers or web seeds; TCP only.
const LOOPBACK_ONLY: ClientOptions = { dht: false, lsd: false, natUpnp: false, natPmp: false, utp: false, tracker: false, webSeeds: false }
const clients: WebTorrent[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => new Promise<void>((r) => c.destroy(() => r()))))
})

function client(): WebTorrent {
  const c = new WebTorrent(LOOPBACK_ONLY)
  clients.push(c)
  return c
}

const allPieces = (count: number) => torrentBitfield(Array.from({ length: count }, (_, i) => i), count)

describe('install piece store', () => {
  it('a real webtorrent peer seeds pieces read from install files, and another writes them into a fresh tree', async () => {
    const dir = await tempDir()
    const f = await makeFixture(dir, 6 * 1024 * 1024)
    expect((await f.publish(f.build, '1.0.0')).code).toBe(0)
    const m = await f.readManifest('1.0.0')
    const torrentFile = await readFile(join(f.cdn, 'game', '1.0.0', 'pack.torrent'))

    const seeder = client()
    const seedLayout = pieceStoreLayout(m, f.build)
    const seeding: Torrent = seeder.add(torrentFile, { store: InstallPieceStore, storeOpts: { shoal: seedLayout }, bitfield: allPieces(seedLayout.geometry.pieceCount) })
    await new Promise((r) => seeding.once('ready', r))
    if (!seeder.listening) await new Promise((r) => seeder.once('listening', r))

    const target = join(dir, 'leeched')
    await createSparseTree(m.files, target)
    const leecher = client()
    const leeching = leecher.add(torrentFile, { store: InstallPieceStore, storeOpts: { shoal: pieceStoreLayout(m, target) } })
    await new Promise((r) => leeching.once('ready', r))
    leeching.addPeer(`127.0.0.1:${seeder.address()!.port}`)
    await new Promise((r) => (leeching.done ? r(undefined) : leeching.once('done', r)))
    expect(leeching.downloaded).toBeGreaterThanOrEqual(m.totals.uniqueBytes)
    // Modes are the stager's job; compare content.
    expect(contentOnly(await treeHash(target))).toEqual(contentOnly(await treeHash(f.build)))
  })

  it('refuses to serve a piece whose installed bytes were altered', async () => {
    const dir = await tempDir()
    const f = await makeFixture(dir, 1024 * 1024)
    expect((await f.publish(f.build, '1.0.0', ['--piece-size', '64KiB'])).code).toBe(0)
    const m = await f.readManifest('1.0.0')
    const file = m.files.find((x) => x.size > 100_000)!
    const bytes = await readFile(join(f.build, file.path))
    bytes[5000]! ^= 1
    await writeFile(join(f.build, file.path), bytes)
    const store = new InstallPieceStore(m.pack.pieceLength, { shoal: pieceStoreLayout(m, f.build) })
    const get = (i: number) => new Promise<Error | null>((r) => store.get(i, null, (err) => r(err)))
    const results = await Promise.all(Array.from({ length: Math.ceil(m.pack.length / m.pack.pieceLength) }, (_, i) => get(i)))
    const refused = results.filter((e) => e !== null)
    expect(refused).toHaveLength(1)
    expect(refused[0]!.message).toMatch(/does not match its SHA-1; not uploading it/)
    await new Promise((r) => store.close(r))
  })
})
