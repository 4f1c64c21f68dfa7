import { readFile, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import WebTorrent, { type ClientOptions, type Torrent, type Wire } from 'webtorrent'
import { afterEach, describe, expect, it } from 'vitest'
import { InstallPieceStore, PieceReader, pieceStoreLayout, torrentBitfield } from '../../app/engine/storage/install-piece-store.ts'
import { fileIdentity } from '../../app/engine/storage/file-identity.ts'
import { giveBackOnWrite } from '../../app/engine/storage/upload-loans.ts'
import { batchWireWrites } from '../../app/engine/sources/peers/webtorrent-adapter.ts'
import type { PlacementResult, PlacementTask } from '../../app/engine/install/placement-tasks.ts'
import { WorkerPool } from '../../app/release/worker-pool.ts'
import { writeRawPack } from '../support/raw-pack.ts'
import { makeFixture } from '../support/release-fixture.ts'
import { useTempDirs } from '../support/temp-dir.ts'

const tempDir = useTempDirs()
// Nothing leaves loopback: no DHT, LSD, UPnP, NAT-PMP, trackers or web seeds; TCP only.
const LOOPBACK_ONLY: ClientOptions = { dht: false, lsd: false, natUpnp: false, natPmp: false, utp: false, tracker: false, webSeeds: false }
const clients: WebTorrent[] = []
const pools: WorkerPool<PlacementTask, PlacementResult>[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => new Promise<void>((r) => c.destroy(() => r()))))
  await Promise.all(pools.splice(0).map((p) => p.close()))
})

function readers(): WorkerPool<PlacementTask, PlacementResult> {
  const pool = new WorkerPool<PlacementTask, PlacementResult>(new URL('../../app/engine/install/placement-worker.ts', import.meta.url), 1)
  pools.push(pool)
  return pool
}

/** A 1 MiB release in 64 KiB pieces, its raw pack, and a reader of its build folder. */
async function smallPieces() {
  const dir = await tempDir()
  const f = await makeFixture(dir, 1024 * 1024)
  expect((await f.publish(f.build, '1.0.0', ['--piece-size', '64KiB'])).code).toBe(0)
  const m = await f.readManifest('1.0.0')
  await writeRawPack(m, f.build, join(dir, 'expected.pack'))
  const pack = await readFile(join(dir, 'expected.pack'))
  const pieces = Math.ceil(m.pack.length / m.pack.pieceLength)
  const reader = new PieceReader(pieceStoreLayout(m, f.build), readers())
  return { f, m, pack, pieces, reader, at: (i: number) => i * m.pack.pieceLength }
}

function client(): WebTorrent {
  const c = new WebTorrent(LOOPBACK_ONLY)
  clients.push(c)
  return c
}

const allPieces = (count: number) => torrentBitfield(Array.from({ length: count }, (_, i) => i), count)

describe('install piece store', () => {
  it('a real webtorrent peer seeds pieces read from install files, its sockets give lent blocks back, and a stock leecher gets exactly the raw pack', async () => {
    const dir = await tempDir()
    const f = await makeFixture(dir, 6 * 1024 * 1024)
    expect((await f.publish(f.build, '1.0.0')).code).toBe(0)
    const m = await f.readManifest('1.0.0')
    const torrentFile = await readFile(join(f.cdn, 'game', '1.0.0', 'pack.torrent'))

    const seeder = client()
    const seedLayout = pieceStoreLayout(m, f.build)
    const seeding: Torrent = seeder.add(torrentFile, { store: InstallPieceStore, storeOpts: { shoal: new PieceReader(seedLayout, readers()) }, bitfield: allPieces(seedLayout.geometry.pieceCount) })
    // The seeder's socket writes give lent blocks back, as in a Shoal job (upload-loans.ts).
    let givenBack = 0
    seeding.on('wire', (wire: Wire) =>
      batchWireWrites(seeding, wire, (chunk) => {
        const back = giveBackOnWrite(chunk)
        return back && (() => (givenBack++, back()))
      }),
    )
    await new Promise((r) => seeding.once('ready', r))
    if (!seeder.listening) await new Promise((r) => seeder.once('listening', r))

    // A stock leecher (webtorrent's own store) gets exactly the raw pack.
    const target = join(dir, 'leeched')
    const leecher = client()
    const leeching = leecher.add(torrentFile, { path: target })
    await new Promise((r) => leeching.once('ready', r))
    leeching.addPeer(`127.0.0.1:${seeder.address()!.port}`)
    await new Promise((r) => (leeching.done ? r(undefined) : leeching.once('done', r)))
    await writeRawPack(m, f.build, join(dir, 'expected.pack'))
    expect((await readFile(join(target, m.pack.name))).equals(await readFile(join(dir, 'expected.pack')))).toBe(true)
    expect(givenBack).toBeGreaterThan(0)
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
    const store = new InstallPieceStore(m.pack.pieceLength, { shoal: new PieceReader(pieceStoreLayout(m, f.build), readers()) })
    const get = (i: number) => new Promise<Error | null>((r) => store.get(i, null, (err) => r(err)))
    const results = await Promise.all(Array.from({ length: Math.ceil(m.pack.length / m.pack.pieceLength) }, (_, i) => get(i)))
    const refused = results.filter((e) => e !== null)
    expect(refused).toHaveLength(1)
    expect(refused[0]!.message).toMatch(/does not match its SHA-1; not uploading it/)
    await new Promise((r) => store.close(r))
  })

  it('a verified piece out of the cache is served a block at a time; once a file changes, the piece is read and verified whole again', async () => {
    const { f, m, pack, pieces, reader, at } = await smallPieces()
    const served = async (i: number, offset: number, length: number) => {
      const b = await reader.block(i, offset, length)
      expect(Buffer.compare(b, pack.subarray(at(i) + offset, at(i) + offset + b.byteLength))).toBe(0)
      giveBackOnWrite(b)!()
      return b
    }
    // Every piece read (and verified) once; the first ones have left the six-piece cache since.
    for (let i = 0; i < pieces; i++) expect((await served(i, 0, 16_384)).buffer.byteLength).toBe(m.pack.pieceLength)
    // A block of piece 0 is read alone, into a block buffer, not into a piece buffer.
    const alone = await served(0, 3000, 16_384)
    expect(alone.buffer.byteLength).toBe(128 * 1024)
    expect((await served(1, 60_000, 16_384)).byteLength).toBe(m.pack.pieceLength - 60_000)

    // A file changes (its mtime; the same bytes): a piece of it is read whole and verified again.
    // Then a byte of it changes: another of its pieces is refused. The last six pieces stay cached
    // (blocks read alone do not go through the cache); mtime moves in coarse ticks, hence the waits.
    const pieceAt = (offset: number) => Math.floor(offset / m.pack.pieceLength)
    const file = m.files.find((x) => x.size > 3 * m.pack.pieceLength)!
    const bytes = await readFile(join(f.build, file.path))
    const start = pack.indexOf(bytes.subarray(0, 4096))
    const [first, last] = [pieceAt(start), pieceAt(start + bytes.length - 1)]
    expect(last).toBeLessThan(pieces - 6)
    const tick = () => new Promise((r) => setTimeout(r, 50))
    await tick()
    await writeFile(join(f.build, file.path), bytes)
    expect((await served(first + 1, 0, 16_384)).buffer.byteLength).toBe(m.pack.pieceLength)
    expect((await served(first + 2, 0, 16_384)).buffer.byteLength).toBe(m.pack.pieceLength)
    await tick()
    bytes[bytes.length - 1]! ^= 1
    await writeFile(join(f.build, file.path), bytes)
    await expect(reader.block(last, 0, 16_384)).rejects.toThrow(/does not match its SHA-1; not uploading it/)
  })

  it('a piece whose files keep the identity the install recorded is served without a hash; once a file changes, it is hashed and refused', async () => {
    const { f, m, pieces } = await smallPieces()
    const layout = pieceStoreLayout(m, f.build)
    // A byte of the last piece changed, then the files' identities recorded: the reader trusts
    // the record, not the bytes, so it hashes nothing and serves the changed byte.
    const last = pieces - 1
    let inPiece = 0
    let victim = { path: '', at: 0, inPiece: 0 }
    for (const seg of layout.geometry.segments(last)) {
      if (seg.kind === 'chunk') {
        const from = layout.readFrom(seg.chunk)!
        victim = { path: from.path, at: from.offset + seg.offset, inPiece }
      }
      inPiece += seg.length
    }
    const bytes = await readFile(victim.path)
    bytes[victim.at]! ^= 0xff
    await writeFile(victim.path, bytes)
    const trusted = new Map<string, string>()
    for (const file of m.files) {
      const path = join(f.build, file.path)
      trusted.set(path, fileIdentity(await stat(path)))
    }
    const served = await new PieceReader(layout, readers(), trusted).block(last, 0, Infinity)
    expect(served[victim.inPiece]).toBe(bytes[victim.at])

    // Without the record, the same piece fails its SHA-1.
    await expect(new PieceReader(layout, readers()).block(last, 0, Infinity)).rejects.toThrow(/does not match its SHA-1; not uploading it/)
    // With the record and the file changed since (a new mtime), it is hashed, and refused.
    const now = await stat(victim.path)
    await utimes(victim.path, now.atime, new Date(now.mtimeMs + 5000))
    await expect(new PieceReader(layout, readers(), trusted).block(last, 0, Infinity)).rejects.toThrow(/does not match its SHA-1; not uploading it/)
  })

  it('a piece this process placed is served without a hash or an identity check, whole and a block at a time', async () => {
    const { f, m, pieces } = await smallPieces()
    const layout = pieceStoreLayout(m, f.build)
    // A byte of the last piece changed after it was "placed": only an unhashed read serves it.
    const last = pieces - 1
    const [seg] = layout.geometry.segments(last)
    if (seg?.kind !== 'chunk') throw new Error('the last piece starts with padding')
    const from = layout.readFrom(seg.chunk)!
    const at = from.offset + seg.offset
    const bytes = await readFile(from.path)
    bytes[at]! ^= 0xff
    await writeFile(from.path, bytes)
    const reader = new PieceReader(layout, readers())
    reader.placed(last)
    expect((await reader.block(last, 0, Infinity))[0]).toBe(bytes[at])
    // Out of the cache (six other pieces read since), a block is read alone, into a block
    // buffer, with the file's mtime changed: still served, as from a staged file written since.
    for (let i = 0; i < 6; i++) await reader.block(i, 0, 16_384)
    const now = await stat(from.path)
    await utimes(from.path, now.atime, new Date(now.mtimeMs + 5000))
    const alone = await reader.block(last, 0, 16_384)
    expect(alone.buffer.byteLength).toBe(128 * 1024)
    expect(alone[0]).toBe(bytes[at])
    // Not placed here, the same piece fails its SHA-1.
    await expect(new PieceReader(layout, readers()).block(last, 0, Infinity)).rejects.toThrow(/does not match its SHA-1; not uploading it/)
  })

  it('a lent block keeps its bytes until a socket has written it, while later reads reuse the other buffers', async () => {
    const { m, pack, pieces, reader, at } = await smallPieces()
    expect(pieces).toBeGreaterThan(12)

    // Blocks of pieces 0-3 are lent (views of their piece), and stay unwritten while every other
    // piece is read through the six-piece cache: their buffers must not go back to the worker
    // (a transfer would empty the views).
    const lent = await Promise.all([0, 1, 2, 3].map((i) => reader.block(i, 1000, 16_384)))
    for (const b of lent) expect(giveBackOnWrite(b)).toBeTypeOf('function')
    const served = [...lent]
    for (let i = 4; i < pieces; i++) served.push(await reader.block(i, 0, 16_384))
    // With four pieces out of the cache and unwritten, blocks are copies: a slow peer cannot hold
    // more pieces. A copy is lent too, from a buffer of its own that is reused once written.
    const copied = await reader.block(pieces - 1, 0, 16_384)
    expect(copied.buffer.byteLength).toBe(128 * 1024)
    expect(Buffer.compare(copied, pack.subarray(at(pieces - 1), at(pieces - 1) + 16_384))).toBe(0)
    const otherCopy = await reader.block(pieces - 2, 100, 16_384)
    expect(otherCopy.buffer).not.toBe(copied.buffer)
    giveBackOnWrite(copied)!()
    const reused = await reader.block(pieces - 3, 200, 16_384)
    expect(reused.buffer).toBe(copied.buffer)
    expect(Buffer.compare(reused, pack.subarray(at(pieces - 3) + 200, at(pieces - 3) + 200 + 16_384))).toBe(0)
    expect(Buffer.compare(otherCopy, pack.subarray(at(pieces - 2) + 100, at(pieces - 2) + 100 + 16_384))).toBe(0)
    served.push(otherCopy, reused)
    lent.forEach((b, i) => expect(Buffer.compare(b, pack.subarray(at(i) + 1000, at(i) + 1000 + 16_384))).toBe(0))

    // Written, they come back: blocks are lent again, and every byte served is the pack's.
    for (const b of served) giveBackOnWrite(b)?.()
    const again = await reader.block(5, 0, 16_384)
    expect(giveBackOnWrite(again)).toBeTypeOf('function')
    for (let i = 0; i < pieces; i++) {
      const b = await reader.block(i, 0, m.pack.pieceLength)
      expect(Buffer.compare(b, pack.subarray(at(i), at(i) + b.byteLength))).toBe(0)
      giveBackOnWrite(b)!()
    }
  })
})
