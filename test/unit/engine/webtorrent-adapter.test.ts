// Canary for app/engine/sources/peers/webtorrent-adapter.ts: every private webtorrent field Shoal
// touches, on a real client and torrent. A webtorrent upgrade that renames or reshapes one
// of them fails here, not in the middle of a user's download.
import { readFile } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { join } from 'node:path'
import WebTorrent, { type Torrent } from 'webtorrent'
import { afterEach, describe, expect, it } from 'vitest'
import { adoptListener, bindListener, copiesBlocksOut, skipDials, copyMissing, directPeerPipes, knownPeers, lightenWireReads, markBlocksIn, markPieceComplete, onIncomingConnection, routePieces, selectInOrder, wireInput, type PieceInternals } from '../../../app/engine/sources/peers/webtorrent-adapter.ts'
import { constantStore } from '../../support/constant-store.ts'
import { makeFixture } from '../../support/release-fixture.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()
const clients: WebTorrent[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => new Promise<void>((r) => c.destroy(() => r()))))
})

/** A peer on 127.0.0.1 that has every piece of `torrentFile`, sending at most `uploadRate` bytes/s (-1: no cap); its bytes are zeros unless `store` says otherwise. */
async function zeroSeeder(torrentFile: Buffer, uploadRate: number, store: unknown = constantStore(0)): Promise<{ client: WebTorrent; torrent: Torrent; port: number }> {
  const client = new WebTorrent({ dht: false, lsd: false, natUpnp: false, natPmp: false, utp: false, tracker: false, webSeeds: false })
  clients.push(client)
  bindListener(client, '127.0.0.1', 0)
  client.throttleUpload(uploadRate)
  const torrent = client.add(torrentFile, { store, skipVerify: true })
  await new Promise((r) => torrent.once('ready', r))
  for (let i = 0; i < 100 && !client.address()?.port; i++) await new Promise((r) => setTimeout(r, 10))
  return { client, torrent, port: client.address()!.port }
}

/** Byte p of the pattern seeder's torrent: (p / 1 KiB) mod 251, so a block out of place shows. */
function patternBytes(from: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) out[i] = Math.floor((from + i) / 1024) % 251
  return out
}

/** A store class, as webtorrent's `store` option takes it, that serves patternBytes. */
class PatternStore {
  readonly chunkLength: number
  readonly length: number
  constructor(chunkLength: number, opts: { length: number }) {
    this.chunkLength = chunkLength
    this.length = opts.length
  }
  put(_index: number, _buf: Uint8Array, cb?: (err: Error | null) => void): void {
    cb?.(null)
  }
  get(index: number, opts: { offset?: number; length?: number } | null | ((err: Error | null, value?: Uint8Array) => void), callback?: (err: Error | null, value?: Uint8Array) => void): void {
    const cb = typeof opts === 'function' ? opts : callback!
    const range = typeof opts === 'function' ? null : opts
    const offset = range?.offset ?? 0
    const size = Math.min(this.chunkLength, this.length - index * this.chunkLength)
    cb(null, patternBytes(index * this.chunkLength + offset, range?.length ?? size - offset))
  }
  close(cb?: (err: Error | null) => void): void {
    cb?.(null)
  }
  destroy(cb?: (err: Error | null) => void): void {
    cb?.(null)
  }
}

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 20))) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
}

async function torrentOfFixture(pieceSize = '256KiB'): Promise<{ client: WebTorrent; torrent: Torrent; torrentFile: Buffer }> {
  const dir = await tempDir()
  const f = await makeFixture(dir, 2 * 1024 * 1024)
  expect((await f.publish(f.build, '1.0.0', ['--piece-size', pieceSize])).code).toBe(0)
  const torrentFile = await readFile(join(f.cdn, 'game', '1.0.0', 'pack.torrent'))
  // Nothing leaves loopback: no DHT, LSD, UPnP, NAT-PMP or trackers; TCP only.
  const client = new WebTorrent({ dht: false, lsd: false, natUpnp: false, natPmp: false, utp: false, tracker: false, webSeeds: false })
  clients.push(client)
  const torrent = client.add(torrentFile, { path: join(dir, 'data'), deselect: true })
  await new Promise((r) => torrent.once('ready', r))
  return { client, torrent, torrentFile }
}

describe('webtorrent adapter (private fields)', () => {
  it('has piece progress and reservations, marks a piece complete and tells its wires, counts known peers', async () => {
    const { torrent } = await torrentOfFixture()
    const t = torrent as unknown as { pieces: ({ reserve: unknown; missing: number } | null)[]; _reservations: unknown[] }
    expect(t.pieces.length).toBeGreaterThan(2)
    expect(typeof t.pieces[0]?.reserve).toBe('function')
    expect(typeof t.pieces[0]?.missing).toBe('number')
    expect(Array.isArray(t._reservations)).toBe(true)

    const verified: number[] = []
    torrent.on('verified', (i: number) => verified.push(i))
    markPieceComplete(torrent, 2)
    expect(torrent.bitfield.get(2)).toBe(true)
    expect(verified).toEqual([2])
    expect(t.pieces[2]).toBeNull()

    expect(knownPeers(torrent)).toBe(0)
    torrent.addPeer('127.0.0.1:9')
    expect(knownPeers(torrent)).toBe(1)
  })

  it('leaves out the dials a filter refuses, and dials the others', async () => {
    const { torrent } = await torrentOfFixture()
    skipDials(torrent, (address) => address.startsWith('127.0.0.9:'))
    expect(torrent.addPeer('127.0.0.9:9')).toBe(false)
    expect(knownPeers(torrent)).toBe(0)
    torrent.addPeer('127.0.0.1:9')
    expect(knownPeers(torrent)).toBe(1)
  })

  it('re-binds the listener to one address', async () => {
    const { client } = await torrentOfFixture()
    bindListener(client, '127.0.0.1', 0)
    await new Promise((r) => setTimeout(r, 50))
    expect(client.address()?.address).toBe('127.0.0.1')
  })

  it('serves peers on a server that listens already, and closes it when destroyed', async () => {
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as { port: number }).port
    const client = new WebTorrent({ dht: false, lsd: false, natUpnp: false, natPmp: false, utp: false, tracker: false, webSeeds: false, torrentPort: 0 })
    clients.push(client)
    adoptListener(client, server)
    const seen: (string | undefined)[] = []
    onIncomingConnection(client, (remote) => seen.push(remote))
    await new Promise((r) => (client.listening ? r(undefined) : client.once('listening', r)))
    expect(client.address()?.port).toBe(port)
    expect(client.torrentPort).toBe(port)
    const conn = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.5' })
    await new Promise((r) => conn.once('connect', r))
    for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
    conn.destroy()
    expect(seen).toEqual(['127.0.0.5'])
    clients.splice(clients.indexOf(client), 1)
    await new Promise<void>((r) => client.destroy(() => r()))
    expect(server.listening).toBe(false)
  })

  it('tells the remote address of each incoming peer connection', async () => {
    const { client } = await torrentOfFixture()
    bindListener(client, '127.0.0.1', 0)
    const seen: (string | undefined)[] = []
    onIncomingConnection(client, (remote) => seen.push(remote))
    await new Promise((r) => setTimeout(r, 50))
    const port = client.address()!.port
    const conn = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.4' })
    await new Promise((r) => conn.once('connect', r))
    for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
    conn.destroy()
    expect(seen).toEqual(['127.0.0.4'])
  })

  it('loads the stand-ins for the DHT, NAT traversal and uTP, and a client with them off still gets a torrent ready', async () => {
    // package.json's overrides point these packages at app/stand-ins/; webtorrent takes an
    // undefined DHT or NatAPI and an empty uTP module as absent, as in its browser build.
    const { createRequire } = await import('node:module')
    const fromWebtorrent = createRequire(createRequire(import.meta.url).resolve('webtorrent'))
    expect(fromWebtorrent.resolve('bittorrent-dht')).toMatch(/app\/stand-ins\/bittorrent-dht\/index\.js$/)
    expect(fromWebtorrent.resolve('@silentbot1/nat-api')).toMatch(/app\/stand-ins\/nat-api\/index\.js$/)
    expect(fromWebtorrent('utp-native')).toEqual({})
    expect((WebTorrent as unknown as { UTP_SUPPORT: boolean }).UTP_SUPPORT).toBe(false)
    const { torrent } = await torrentOfFixture()
    expect(torrent.infoHash).toMatch(/^[0-9a-f]{40}$/)
  })

  it('still has the fields the requester, the wire patches and the upload bound use', async () => {
    const { torrent } = await torrentOfFixture()
    const t = torrent as unknown as Record<string, unknown>
    for (const method of ['_request', '_hotswap', '_update', '_updateWire', '_markVerified', '_checkDone', '_select']) expect(typeof t[method], method).toBe('function')
    expect(t['_peers']).toBeInstanceOf(Map)
    const { default: Peer } = await import('webtorrent/lib/peer.js')
    expect(typeof Peer.prototype.setThrottlePipes).toBe('function')
    // bittorrent-protocol's Wire, as webtorrent builds one per connection.
    const { default: Wire } = await import('bittorrent-protocol')
    const wire = new Wire()
    try {
      for (const method of ['_write', '_parser', '_onMessage', 'request', 'piece', 'downloadSpeed']) expect(typeof wire[method], method).toBe('function')
      expect(Array.isArray(wire['_buffer'])).toBe(true)
      expect(typeof wire['_bufferSize']).toBe('number')
      expect(typeof wire['_parserSize']).toBe('number')
      expect(wire['_encryptor']).toBeNull()
      expect(typeof (wire['_readableState'] as { buffered: unknown }).buffered).toBe('number')
    } finally {
      wire.destroy()
    }
  })

  it.each([
    ['copied out before the parser returns (routePieces)', true],
    ["kept as given (webtorrent's own store)", false],
  ])('parses messages however chunks split them, and keeps nothing of a chunk (a socket may read every chunk into one buffer), with blocks %s', async (_, copied) => {
    const { default: Wire } = await import('bittorrent-protocol')
    const wire = new Wire()
    type Parsing = { _write(data: Uint8Array, cb: () => void): void; _parse(size: number, parser: unknown): void; _onMessageLength: unknown; _onPiece(index: number, offset: number, block: Uint8Array): void; _onHave(index: number): void; _onBitField(bits: Uint8Array): void }
    const w = wire as unknown as Parsing
    try {
      // bittorrent-protocol's own _write keeps views of what it is given: plaintext never goes there.
      const original = w._write
      let originalCalls = 0
      w._write = function (this: Parsing, data, cb) {
        originalCalls++
        original.call(this, data, cb)
      }
      lightenWireReads(wire as never)
      if (copied) copiesBlocksOut(wire as never)
      w._parse(4, w._onMessageLength)
      const blocks: [number, Uint8Array][] = []
      w._onPiece = (index, _offset, block) => blocks.push([index, copied ? Buffer.from(block) : block])
      const haves: number[] = []
      w._onHave = (index) => haves.push(index)
      // A bitfield is kept as it is given.
      const bitfields: Uint8Array[] = []
      w._onBitField = (bits) => bitfields.push(bits)
      const size = 64 * 1024
      const block = (i: number) => {
        const m = Buffer.alloc(13 + size, i + 1)
        m.writeUInt32BE(9 + size, 0)
        m[4] = 7
        m.writeUInt32BE(i, 5)
        m.writeUInt32BE(0, 9)
        return m
      }
      const have = (i: number) => Buffer.from([0, 0, 0, 5, 4, 0, 0, 0, i])
      const bitfield = Buffer.from([0, 0, 0, 3, 5, 0xa5, 0x5a])
      // As TLS delivers them: a message's head alone, its block in 16 KiB records, the last of
      // which ends the message; then records that hold a message's end, whole small messages and
      // the next message's head, split at odd places.
      const chunks: Uint8Array[] = []
      for (const i of [0, 1]) {
        const m = block(i)
        chunks.push(m.subarray(0, 13))
        for (let at = 13; at < m.length; at += 16 * 1024) chunks.push(m.subarray(at, at + 16 * 1024))
      }
      const rest = Buffer.concat([have(7), bitfield, block(2), have(8), block(3), have(9)])
      for (const [at, length] of [[0, 5], [5, 11], [16, 3]] as const) chunks.push(rest.subarray(at, at + length))
      for (let at = 19; at < rest.length; at += 10_000) chunks.push(rest.subarray(at, at + 10_000))
      chunks.push(block(4))
      // A message larger than what the wire allocates ahead of its bytes: kept as it comes.
      const bits = Buffer.alloc(1024 * 1024 + 100, 0x3c)
      const large = Buffer.concat([Buffer.from([0, 0, 0, 0, 5]), bits])
      large.writeUInt32BE(1 + bits.length, 0)
      for (let at = 0; at < large.length; at += 100_000) chunks.push(large.subarray(at, at + 100_000))
      // Every chunk read into the same buffer, scribbled over once the wire has it.
      const reused = Buffer.alloc(256 * 1024)
      for (const c of chunks) {
        reused.set(c)
        w._write(reused.subarray(0, c.length), () => {})
        reused.fill(0xee)
      }
      expect(originalCalls).toBe(0)
      expect(haves).toEqual([7, 8, 9])
      expect(bitfields.map((b) => b.length)).toEqual([2, bits.length])
      expect([...bitfields[0]!]).toEqual([0xa5, 0x5a])
      expect(Buffer.from(bitfields[1]!).equals(bits)).toBe(true)
      expect(blocks.map(([i, b]) => [i, b.length, b.every((x) => x === i + 1)])).toEqual([0, 1, 2, 3, 4].map((i) => [i, size, true]))
    } finally {
      wire.destroy()
    }
  })

  it("hands a wire's bytes to its parser at once, and a parser that throws ends that wire only", async () => {
    const { default: Wire } = await import('bittorrent-protocol')
    const wire = new Wire()
    const w = wire as unknown as { _parse(size: number, parser: (b: Uint8Array) => void): void; destroyed: boolean }
    const seen: number[] = []
    const twoBytes = (b: Uint8Array) => {
      seen.push(b[0]!, b[1]!)
      if (b[0] === 0xff) throw new Error('a parser fault')
      w._parse(2, twoBytes)
    }
    w._parse(2, twoBytes)
    const input = wireInput(wire as never)
    // No tick passes between the write and the parse (streamx's own write runs a tick later).
    expect(input.write(Uint8Array.of(1))).toBe(true)
    expect(input.write(Uint8Array.of(2))).toBe(true)
    expect(seen).toEqual([1, 2])
    expect(input.write(Uint8Array.of(0xff, 0))).toBe(true)
    await until('the wire to close', () => w.destroyed)
    expect(input.write(Uint8Array.of(3, 4))).toBe(true)
    expect(seen).toEqual([1, 2, 0xff, 0])
  })

  it('copies a delivered block over the blocks not yet in, never over a block another wire brought', async () => {
    const { torrent } = await torrentOfFixture()
    const piece = (torrent as unknown as { pieces: PieceInternals[] }).pieces[0]!
    const block = 16 * 1024
    const into = Buffer.alloc(piece.length, 1)
    // Blocks 1 and 3 came from another wire.
    markBlocksIn(piece, 1, block, 'other')
    markBlocksIn(piece, 3, block, 'other')
    copyMissing(piece, into, Buffer.alloc(5 * block, 9), 0)
    expect([0, 1, 2, 3, 4].map((b) => into[b * block + 100])).toEqual([9, 1, 9, 1, 9])
    expect(into[5 * block]).toBe(1)
    // None in yet: the block lands whole.
    copyMissing(piece, into, Buffer.alloc(2 * block, 7), 8 * block)
    expect(into.subarray(8 * block, 10 * block).every((x) => x === 7)).toBe(true)
  })

  it("records blocks as torrent-piece's set does, without keeping their bytes", async () => {
    const { torrent } = await torrentOfFixture()
    const Piece = ((torrent as unknown as { pieces: object[] }).pieces[0]!.constructor) as new (length: number) => PieceInternals & { set(i: number, data: Uint8Array, source: unknown): boolean }
    // 33 blocks, the last one short; a large request, a block again, and the short end.
    const length = 32 * 16384 + 1000
    const ours = new Piece(length)
    const theirs = new Piece(length)
    const wire = {}
    for (const [first, bytes] of [[0, 8 * 16384], [8, 8 * 16384], [8, 16384], [16, 16 * 16384], [32, 1000]] as const) {
      const complete = theirs.set(first, new Uint8Array(bytes), wire)
      expect(markBlocksIn(ours, first, bytes, wire), `blocks ${first}+`).toBe(complete)
      expect([ours.missing, ours._buffered, ours.sources]).toEqual([theirs.missing, theirs._buffered, theirs.sources])
    }
    expect(theirs._buffered).toBe(theirs._chunks)
    expect(ours._buffer!.some((b) => b instanceof Uint8Array)).toBe(false)
  })

  it('frees the place of a piece whose only sender left, and the piece comes whole from another peer', async () => {
    const { torrent, torrentFile } = await torrentOfFixture()
    const received = new Map<number, number>()
    const inFlight = routePieces(
      torrent,
      {
        received: async (index, piece) => {
          received.set(index, piece.length)
          return { ok: true, returned: undefined }
        },
      },
      { maxPieces: 1, maxBytesPerWire: 64 * 1024, largeBlocks: () => false, skip: () => false },
    )
    const pieceCount = (torrent as unknown as { pieces: unknown[] }).pieces.length
    torrent.select(0, pieceCount - 1, 1)
    // A sender at 32 KiB/s: a 256 KiB piece is still coming when it leaves.
    const slow = await zeroSeeder(torrentFile, 32 * 1024)
    torrent.addPeer(`127.0.0.1:${slow.port}`)
    await until('the first blocks', () => torrent.downloaded > 0)
    const [partial] = [...inFlight.pieces()]
    expect(partial).toBeTypeOf('number')
    clients.splice(clients.indexOf(slow.client), 1)
    await new Promise<void>((r) => slow.client.destroy(() => r()))
    await until('the wire to close', () => torrent.wires.length === 0)
    await new Promise((r) => setTimeout(r, 50))
    expect([...inFlight.pieces()]).toEqual([])

    const fast = await zeroSeeder(torrentFile, -1)
    torrent.addPeer(`127.0.0.1:${fast.port}`)
    await until('every piece', () => received.size === pieceCount)
    expect(received.get(partial!)).toBe(256 * 1024)
  })

  it('asks for pieces in the order of its runs, and with its one place taken still takes every block of that piece', async () => {
    const { torrent, torrentFile } = await torrentOfFixture()
    const order: number[] = []
    routePieces(
      torrent,
      {
        received: async (index) => {
          order.push(index)
          return { ok: true, returned: undefined }
        },
      },
      // One place and 64 KiB per wire: each 256 KiB piece needs several rounds with its place taken.
      { maxPieces: 1, maxBytesPerWire: 64 * 1024, largeBlocks: () => false, skip: () => false },
    )
    const pieceCount = (torrent as unknown as { pieces: unknown[] }).pieces.length
    expect(pieceCount).toBeGreaterThanOrEqual(6)
    // Adjacent runs out of order: webtorrent would join plain selections and start from piece 0.
    selectInOrder(torrent, [
      [4, pieceCount - 1],
      [0, 3],
    ])
    const seeder = await zeroSeeder(torrentFile, -1)
    torrent.addPeer(`127.0.0.1:${seeder.port}`)
    await until('every piece', () => order.length === pieceCount)
    // A new wire's first request (webtorrent's validateWire) takes the last piece of the last run; then the runs in order.
    expect(order[0]).toBe(3)
    expect(order.slice(1)).toEqual([...Array.from({ length: pieceCount - 4 }, (_, i) => i + 4), 0, 1, 2])
  })

  it("ends a wire's request round at its byte bound, not after offering it every piece left", async () => {
    const { torrent, torrentFile } = await torrentOfFixture('16KiB')
    const pieceCount = (torrent as unknown as { pieces: unknown[] }).pieces.length
    const received = new Set<number>()
    routePieces(
      torrent,
      {
        received: async (index) => {
          received.add(index)
          return { ok: true, returned: undefined }
        },
      },
      // One request in the air per wire, with places free: every round after a block ends at the bound.
      { maxPieces: 8, maxBytesPerWire: 16 * 1024, largeBlocks: () => false, skip: () => false },
    )
    const t = torrent as unknown as { _request: (...args: unknown[]) => boolean }
    const request = t._request
    let offers = 0
    t._request = (...args) => {
      offers++
      return request.apply(t, args)
    }
    selectInOrder(torrent, [[0, pieceCount - 1]])
    const seeder = await zeroSeeder(torrentFile, -1)
    torrent.addPeer(`127.0.0.1:${seeder.port}`)
    await until('every piece', () => received.size === pieceCount)
    // Measured: 128 offers for 128 pieces; without the bound on webtorrent's round, 16,638 (each
    // round offered every piece left, twice).
    expect(offers).toBeLessThan(pieceCount * 4)
  })

  it('lets a wire try a hot swap for a piece at most once per 100 ms', async () => {
    const { torrent, torrentFile } = await torrentOfFixture()
    let placed = 0
    routePieces(
      torrent,
      {
        received: async () => {
          placed++
          return { ok: true, returned: undefined }
        },
      },
      // One place and room for every block of it: once they are all asked for, the wire is idle
      // on each round until the piece is in, and only a hot swap could give it more to ask for.
      { maxPieces: 1, maxBytesPerWire: 1024 * 1024, largeBlocks: () => false, skip: () => false },
    )
    const t = torrent as unknown as { _hotswap: (wire: unknown, index: number) => boolean }
    const hotswap = t._hotswap.bind(torrent)
    const tries = new Map<unknown, Map<number, number[]>>()
    t._hotswap = (wire, index) => {
      const ofWire = tries.get(wire) ?? new Map<number, number[]>()
      tries.set(wire, ofWire.set(index, [...(ofWire.get(index) ?? []), performance.now()]))
      return hotswap(wire, index)
    }
    const pieceCount = (torrent as unknown as { pieces: unknown[] }).pieces.length
    torrent.select(0, pieceCount - 1, 1)
    // 512 KiB/s: each 256 KiB piece takes about half a second, over many rounds.
    const seeder = await zeroSeeder(torrentFile, 512 * 1024)
    torrent.addPeer(`127.0.0.1:${seeder.port}`)
    await until('three pieces', () => placed >= 3)
    const lists = [...tries.values()].flatMap((ofWire) => [...ofWire.values()])
    expect(lists.flat().length).toBeGreaterThan(0)
    for (const list of lists) for (let i = 1; i < list.length; i++) expect(list[i]! - list[i - 1]!).toBeGreaterThanOrEqual(99)
  })

  it('with direct pipes, moves every byte in order, counts it, and a capped sender stays within its cap', async () => {
    directPeerPipes()
    const { torrent, torrentFile } = await torrentOfFixture()
    const pieces = new Map<number, Buffer>()
    routePieces(
      torrent,
      {
        received: async (index, piece) => {
          pieces.set(index, Buffer.from(piece))
          return { ok: true, returned: undefined }
        },
      },
      { maxPieces: 2, maxBytesPerWire: 256 * 1024, largeBlocks: () => false, skip: () => false },
    )
    const pieceCount = (torrent as unknown as { pieces: unknown[] }).pieces.length
    torrent.select(0, pieceCount - 1, 1)
    const rate = 256 * 1024
    const capped = await zeroSeeder(torrentFile, rate, PatternStore)
    let sent = 0
    capped.torrent.on('upload', (n: number) => (sent += n))
    const started = Date.now()
    torrent.addPeer(`127.0.0.1:${capped.port}`)
    await until('a second of capped sending', () => Date.now() - started >= 1500)
    // A token bucket of one second's worth, full at the start: at most one second ahead of the rate.
    expect(sent).toBeGreaterThan(0)
    expect(sent).toBeLessThanOrEqual(rate * ((Date.now() - started) / 1000 + 1))
    capped.client.throttleUpload(-1)
    await until('every piece', () => pieces.size === pieceCount)
    // The pattern's bytes, in order: every block landed where it belongs.
    for (const [index, piece] of pieces) expect(piece.equals(patternBytes(index * piece.length, piece.length)), `piece ${index}`).toBe(true)
    // Each way's counter saw the blocks (and the messages around them) that went through.
    expect(torrent.downloaded).toBeGreaterThanOrEqual(pieceCount * 256 * 1024 - 256 * 1024)
    expect(sent).toBeGreaterThanOrEqual(torrent.downloaded)
  })
})
