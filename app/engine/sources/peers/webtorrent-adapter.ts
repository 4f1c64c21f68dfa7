// Every use of webtorrent's private fields, in one place. webtorrent 3 has no public way to
// say "this piece arrived by another route", to see which pieces it has asked peers for, to
// count the peers it is still dialling, or to bind its listener to one address. Each function
// here names the field it touches; test/unit/engine/webtorrent-adapter.test.ts fails when a
// webtorrent upgrade renames or reshapes one of them.
import type { Server, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type WebTorrent from 'webtorrent'
import type { Torrent, Wire } from 'webtorrent'
import Peer from 'webtorrent/lib/peer.js'
import { pump, type Gate, type PumpFrom, type PumpTo } from './gated-pump.ts'

interface TorrentInternals {
  _markVerified(index: number): void
  _checkDone(): void
  /** Peers known to the torrent: connected, handshaking or being dialled. */
  readonly _peersLength: number
}

const internals = (torrent: Torrent) => torrent as unknown as TorrentInternals

/** Records a piece that arrived by another route (the CDN) as complete, and tells every peer. */
export function markPieceComplete(torrent: Torrent, piece: number): void {
  const t = internals(torrent)
  t._markVerified(piece)
  for (const w of torrent.wires) w.have(piece)
  t._checkDone()
}

/** Peers the torrent knows: connected, in handshake, or being dialled. */
export function knownPeers(torrent: Torrent): number {
  return internals(torrent)._peersLength
}

interface ConnPoolInternals {
  tcpServer: Server
  /** ConnPool's 'connection' listener: reads the BitTorrent (or MSE) handshake in plaintext. */
  _onTCPConnectionBound: (conn: Socket) => void
  /** ConnPool's 'error' listener: destroys the client. */
  _onTCPError: (err: Error) => void
}

function connPool(client: WebTorrent, what: string): ConnPoolInternals {
  const pool = (client as unknown as { _connPool?: ConnPoolInternals })._connPool
  if (!pool) throw new Error(`webtorrent has no TCP listener to ${what}`)
  return pool
}

/**
 * webtorrent listens on every interface and has no option for an address (webtorrent#2158).
 * Its TCP server binds synchronously in the constructor, so it is re-bound at once to the
 * configured address, before any peer could have connected.
 */
export function bindListener(client: WebTorrent, host: string, port: number): void {
  const server = connPool(client, 'bind').tcpServer
  server.close()
  server.listen(port, host)
}

/**
 * webtorrent serves peers on `server`, which listens already (the scout's), instead of its own:
 * a peer dialling while the swarm starts finds the port open. Its own server bound a free port
 * in the constructor (torrentPort 0) and is closed at once; what waited for it to listen (the
 * client's 'listening', which reads the port from the pool's server) runs on the adopted one.
 */
export function adoptListener(client: WebTorrent, server: Server): void {
  const pool = connPool(client, 'adopt')
  const own = pool.tcpServer
  const waiting = own.listeners('listening') as (() => void)[]
  own.removeAllListeners()
  own.close()
  pool.tcpServer = server
  server.on('connection', pool._onTCPConnectionBound)
  server.on('error', pool._onTCPError)
  process.nextTick(() => {
    for (const listening of waiting) listening.call(server)
  })
}

/**
 * Calls `seen` with the remote address of every incoming TCP peer connection, before any
 * handshake (and whoever then reads it: webtorrent, or takeIncoming's transport).
 */
export function onIncomingConnection(client: WebTorrent, seen: (remoteAddress: string | undefined) => void): void {
  connPool(client, 'watch').tcpServer.on('connection', (conn: Socket) => seen(conn.remoteAddress))
}

/**
 * Incoming TCP connections go to `onConnection` instead of webtorrent's plaintext handshake
 * reader, on the same port (the one announced): a transport that wraps them first (TLS).
 */
export function takeIncoming(client: WebTorrent, onConnection: (conn: Socket) => void): void {
  const pool = connPool(client, 'take over')
  pool.tcpServer.removeListener('connection', pool._onTCPConnectionBound)
  pool.tcpServer.on('connection', onConnection)
}

/** A connection accepted before the client listened (by the scout): handled as if its listener had accepted it. */
export function acceptIncoming(client: WebTorrent, conn: Socket): void {
  connPool(client, 'accept').tcpServer.emit('connection', conn)
}

type AddPeer = (peer: string | Duplex, source?: string) => boolean

/**
 * Addresses found by trackers, LAN discovery or given by the user go to `dial` rather than to
 * webtorrent's TCP dialler; connected streams still go to webtorrent (addConnectedPeer).
 */
export function interceptDials(torrent: Torrent, dial: (address: string) => void): void {
  const t = torrent as unknown as { addPeer: AddPeer }
  const add = t.addPeer.bind(torrent)
  t.addPeer = (peer, source) => {
    if (typeof peer !== 'string') return add(peer, source)
    dial(peer)
    return true
  }
}

/** Addresses `skip` refuses are not dialled (nor passed to an earlier interceptDials); streams pass. */
export function skipDials(torrent: Torrent, skip: (address: string) => boolean): void {
  const t = torrent as unknown as { addPeer: AddPeer }
  const add = t.addPeer.bind(torrent)
  t.addPeer = (peer, source) => (typeof peer === 'string' && skip(peer) ? false : add(peer, source))
}

/**
 * Hands webtorrent a connected, authenticated stream. addPeer's stream path was made for
 * WebRTC: it wants a unique `id` and `connected`, sends no MSE, and reads the address from
 * `remoteAddress`/`remotePort`, which a TLS socket has.
 */
export function addConnectedPeer(torrent: Torrent, conn: Duplex & { remoteAddress?: string | undefined }, id: string): boolean {
  Object.assign(conn, { id, connected: true })
  return (torrent as unknown as { addPeer: AddPeer }).addPeer(conn)
}

/**
 * Selects runs of pieces, to be asked for in the order given. webtorrent joins plain selections
 * that touch into one and asks for it from its first piece, so runs given out of order would be
 * asked in ascending order again: these are its stream selections, which it keeps apart. With
 * priority 0: a round that fills a wire's pipeline moves a selection with priority behind the
 * others (`shufflePriority`), so the runs would be taken a piece from each in turn.
 */
export function selectInOrder(torrent: Torrent, runs: readonly (readonly [number, number])[]): void {
  const t = torrent as unknown as { _select(from: number, to: number, priority: number, notify: undefined, isStreamSelection: boolean): void }
  for (const [from, to] of runs) t._select(from, to, 0, undefined, true)
}

/** Where whole pieces from peers go instead of webtorrent's own SHA-1 check and store. */
export interface PieceSink {
  /**
   * A piece received whole. Resolves whether it verified and was placed (never rejects: a
   * failure to place is the sink's to report); `returned` hands the buffer back for the next piece.
   */
  received(index: number, piece: Buffer): Promise<{ readonly ok: boolean; readonly returned: ArrayBuffer | undefined }>
}

export interface PieceRouting {
  /** Most pieces being received or placed at once: each holds one piece-sized buffer. */
  readonly maxPieces: number
  /** Most bytes requested and not received per wire (webtorrent grows its pipeline with the rate, without bound). */
  readonly maxBytesPerWire: number
  /** Whether a wire's peer serves requests of up to 128 KiB (webtorrent does; BitTorrent's norm is 16 KiB). */
  readonly largeBlocks: (wire: Wire) => boolean
  /**
   * Pieces not to ask peers for now (the CDN has them). Refused here rather than deselected:
   * webtorrent's selection split on a deselect gives the second half the first half's progress
   * offset, so it skipped that many pieces for good (a job then failed with the CDN's error
   * beside a seeder that had every piece).
   */
  readonly skip: (index: number) => boolean
}

const BLOCK = 16 * 1024
/** webtorrent's request pipeline: at least half a second's worth of blocks in the air per wire, topped up to a second's. */
const PIPELINE_MIN_S = 0.5
const PIPELINE_MAX_S = 1

/** Requests a wire may have in the air to cover `seconds` at its rate, as webtorrent counts them (`getBlockPipelineLength`). */
function pipeline(wire: Wire, seconds: number): number {
  const length = 2 + Math.ceil((seconds * wire.downloadSpeed()) / BLOCK)
  const reqq = wire.peerExtendedHandshake?.reqq
  return typeof reqq === 'number' && reqq > 0 ? Math.min(length, reqq) : length
}
/** How often a wire may try to take a block of one piece from a slower wire (webtorrent's `_hotswap`). */
const HOTSWAP_RETRY_MS = 100
/** Blocks per request to peers that take large requests: 128 KiB, webtorrent's limit. */
const LARGE_REQUEST_BLOCKS = 8

export interface PiecesInFlight {
  /** The pieces peers are bringing: blocks of them are asked for or in, or they are being placed (at most `maxPieces`). */
  pieces(): Iterable<number>
  /** Asks peers again now: pieces `skip` refused are theirs to take (webtorrent only asks on a wire's events). */
  askAgain(): void
}

/** torrent-piece's Piece, as webtorrent keeps one per piece being fetched. */
export interface PieceInternals {
  readonly length: number
  missing: number
  sources: unknown[] | null
  /** Block count. */
  readonly _chunks: number
  _buffered: number
  /** A slot per block: its bytes under `set`, `true` under markBlocksIn (the bytes are in Shoal's buffer). */
  _buffer: unknown[] | null
  init(): boolean
  reserve(): number
  cancel(i: number): void
  chunkOffset(i: number): number
  chunkLength(i: number): number
}

/**
 * What torrent-piece's `set(first, data, source)` records, for `length` bytes of blocks from
 * `first`, without the data: the piece's buffer is Shoal's (routePieces). `set` kept a view of
 * every 16 KiB block until the piece was placed, past V8's young generation: 6 MB of old-space
 * garbage per GiB received. True once every block is in.
 */
export function markBlocksIn(piece: PieceInternals, first: number, length: number, source: unknown): boolean {
  if (!piece.init()) return false
  const blocks = piece._buffer!
  for (let j = 0; j * BLOCK < length; j++) {
    if (blocks[first + j]) continue
    blocks[first + j] = true
    piece._buffered++
    piece.missing -= Math.min(BLOCK, length - j * BLOCK)
    if (!piece.sources!.includes(source)) piece.sources!.push(source)
  }
  return piece._buffered === piece._chunks
}

/**
 * Copies a delivered block into its piece's buffer, except the 16 KiB blocks already in: a block
 * asked of two wires (an endgame or hot-swapped request) keeps the bytes of the wire it is
 * credited to, so a second sender's bytes never land under another's name.
 */
export function copyMissing(piece: PieceInternals, into: Buffer, block: Uint8Array, offset: number): void {
  const have = piece._buffer
  const first = offset / BLOCK
  let some = false
  for (let j = 0; j * BLOCK < block.length && !some; j++) some = Boolean(have?.[first + j])
  if (!some) return void into.set(block, offset)
  for (let j = 0; j * BLOCK < block.length; j++) if (!have![first + j]) into.set(block.subarray(j * BLOCK, (j + 1) * BLOCK), offset + j * BLOCK)
}

interface RequestInternals {
  destroyed: boolean
  pieces: (PieceInternals | null)[]
  _reservations: (unknown[] | null)[]
  _request(wire: Wire, index: number, hotswap: boolean): boolean
  _hotswap(wire: Wire, index: number): boolean
  _updateWire(wire: Wire): void
  _markVerified(index: number): void
  _checkDone(): void
  _update(): void
}

/**
 * Replaces webtorrent's block requester (`Torrent._request`) for one torrent. Blocks are copied
 * into one buffer per piece as they arrive (webtorrent keeps each block as a view of the socket
 * read it came in, which held 5-20x the piece in memory: 785 MB for one 1 GiB download), at most
 * `maxPieces` pieces are in the air, and a whole piece goes to `sink` rather than to a SHA-1 on
 * the main thread and the chunk store. What the sink accepts is marked verified and announced; a
 * piece it refuses starts over, with the warning webtorrent gives for a failed piece.
 */
export function routePieces(torrent: Torrent, sink: PieceSink, o: PieceRouting): PiecesInFlight {
  const t = torrent as unknown as RequestInternals
  const receiving = new Map<number, Buffer>()
  const spare: ArrayBuffer[] = []
  /** Pieces handed to the sink and not answered yet: no more requests for them. */
  const placed = new Set<number>()
  /** Buffers in use and spare together stay within maxPieces. */
  const keep = (buffer: ArrayBuffer) => {
    if (spare.length + receiving.size + placed.size < o.maxPieces) spare.push(buffer)
  }
  // webtorrent asks for more blocks after every block; the blocks of one socket read arrive
  // together, and one request round for all of them does (its round allocates a dozen closures).
  let updating = false
  const update = () => {
    if (updating) return
    updating = true
    queueMicrotask(() => {
      updating = false
      if (!t.destroyed) t._update()
    })
  }
  // A piece being received that no connected peer has any more (the peers sending it left)
  // would hold its place among the maxPieces for good, and keep the CDN off it as a piece
  // peers are bringing: it starts over, its place free. Only a closing wire makes one, and its
  // requests are answered (with an error) before the next turn.
  const releaseOrphans = () => {
    if (t.destroyed) return
    let released = false
    for (const [index, buf] of receiving) {
      if (t._reservations[index]?.some((w) => w !== null)) continue
      if (torrent.wires.some((w) => !w.destroyed && w.peerPieces.get(index))) continue
      receiving.delete(index)
      keep(buf.buffer as ArrayBuffer)
      const piece = t.pieces[index]
      if (piece) t.pieces[index] = new (piece.constructor as new (length: number) => PieceInternals)(piece.length)
      released = true
    }
    if (released) update()
  }
  /** Runs `f` for every wire of the torrent, those connected now and those to come. */
  const everyWire = (f: (wire: Wire) => void) => {
    for (const wire of torrent.wires) f(wire)
    torrent.on('wire', f)
  }
  everyWire((wire) => wire.once('close', () => setImmediate(releaseOrphans)))
  everyWire(copiesBlocksOut)
  // A hot swap takes a block from a wire below webtorrent's SPEED_THRESHOLD, reading the speed
  // meter of every wire that holds a block of the piece. Tried on every round of every idle
  // wire, the tries took 3.5 % of a leecher's main thread among 8 leechers (profiled). A wire
  // tries a piece again after HOTSWAP_RETRY_MS: the meters count in 100 ms ticks, and a block
  // held by a wire that slow takes over 300 ms.
  const hotswapTries = new WeakMap<Wire, Map<number, number>>()
  const mayHotswap = (wire: Wire, index: number): boolean => {
    const now = performance.now()
    let tries = hotswapTries.get(wire)
    if (!tries) hotswapTries.set(wire, (tries = new Map()))
    if (now - (tries.get(index) ?? -Infinity) < HOTSWAP_RETRY_MS) return false
    // Only pieces being received take hot swaps: the others' tries are forgotten.
    for (const tried of tries.keys()) if (!receiving.has(tried)) tries.delete(tried)
    tries.set(index, now)
    return true
  }
  const blocksPerRequest = (wire: Wire) => (o.largeBlocks(wire) ? LARGE_REQUEST_BLOCKS : 1)
  /** Requests of `blocks` blocks a wire may have in the air within its byte bound. */
  const requestsAllowed = (blocks: number) => Math.ceil(o.maxBytesPerWire / (blocks * BLOCK))
  // webtorrent calls this for every selected piece on every request round, and most calls are
  // refused: the refusal allocates nothing (the closures of a request live in `ask`, whose
  // context V8 would otherwise allocate on every call, 260 MB per GiB received).
  t._request = (wire, index, hotswap) => {
    if (t.destroyed || torrent.bitfield.get(index) || placed.has(index) || o.skip(index)) return false
    if (!receiving.has(index) && receiving.size + placed.size >= o.maxPieces) return false
    const piece = t.pieces[index]
    if (!piece) return false
    const blocks = blocksPerRequest(wire)
    if (wire.requests.length >= requestsAllowed(blocks)) return false
    let reservation = piece.reserve()
    if (reservation === -1 && hotswap && mayHotswap(wire, index) && t._hotswap(wire, index)) reservation = piece.reserve()
    if (reservation === -1) return false
    ask(wire, index, piece, reservation, blocks)
    return true
  }
  // webtorrent's request round (`_updateWire`) walks every selected piece on every wire and
  // offers each to `_request`. With every place taken, only the pieces being received can take
  // a request, so the round asks for those alone, oldest first, within webtorrent's pipeline,
  // and hot-swaps only when it asked for nothing. In 8 leechers that trade, the rounds took
  // 6.1-7.7 s of each one's main thread per GiB under the profiler, 1.6-2.7 s after, and the
  // walk grows with the release.
  //
  // Its round stops at webtorrent's pipeline length, which honours the peer's `reqq` (how many
  // requests it queues), and not at the wire's byte bound: with a place free, each round after a
  // block went on offering the wire every piece not yet done, twice (once for hot swaps), each
  // refused at the bound. A wire's `reqq` is capped at the requests its byte bound allows, so
  // the round ends there.
  const capQueue = (wire: Wire) => {
    const handshake = wire.peerExtendedHandshake as { reqq?: unknown } | undefined
    if (!handshake) return
    const bound = requestsAllowed(blocksPerRequest(wire))
    handshake.reqq = typeof handshake.reqq === 'number' && handshake.reqq > 0 ? Math.min(handshake.reqq, bound) : bound
  }
  const watchQueue = (wire: Wire) => {
    capQueue(wire)
    wire.on('extended', (ext: unknown) => ext === 'handshake' && capQueue(wire))
  }
  everyWire(watchQueue)
  const updateWire = t._updateWire
  t._updateWire = (wire) => {
    if (receiving.size + placed.size < o.maxPieces) return updateWire.call(t, wire)
    if (t.destroyed || wire.destroyed || wire.peerChoking || wire.requests.length >= pipeline(wire, PIPELINE_MIN_S)) return
    const most = pipeline(wire, PIPELINE_MAX_S)
    let asked = false
    for (const index of receiving.keys()) {
      if (!wire.peerPieces.get(index)) continue
      while (wire.requests.length < most && t._request(wire, index, false)) asked = true
    }
    if (asked) return
    for (const index of receiving.keys()) if (wire.peerPieces.get(index) && t._request(wire, index, true)) return
  }
  const ask = (wire: Wire, index: number, piece: PieceInternals, reservation: number, blocksPerRequest: number) => {
    // A large request takes the blocks that follow, as long as they are free in a row.
    let blocks = 1
    while (blocks < blocksPerRequest) {
      const next = piece.reserve()
      if (next === -1) break
      if (next !== reservation + blocks) {
        piece.cancel(next)
        break
      }
      blocks++
    }
    let buf = receiving.get(index)
    if (!buf) {
      const reuse = spare.pop()
      buf = reuse && reuse.byteLength >= piece.length ? Buffer.from(reuse, 0, piece.length) : Buffer.allocUnsafeSlow(piece.length)
      receiving.set(index, buf)
    }
    const r = (t._reservations[index] ??= [])
    let at = r.indexOf(null)
    if (at === -1) at = r.length
    r[at] = wire
    const offset = piece.chunkOffset(reservation)
    let length = 0
    for (let b = reservation; b < reservation + blocks; b++) length += piece.chunkLength(b)
    const into = buf
    const cancel = () => {
      // Blocks another wire brought meanwhile stay in.
      for (let b = reservation; b < reservation + blocks; b++) if (!piece._buffer?.[b]) piece.cancel(b)
    }
    wire.request(index, offset, length, (err: Error | null, block: Uint8Array | null) => {
      if (t.destroyed) return
      if (r[at] === wire) r[at] = null
      if (piece !== t.pieces[index]) {
        // The piece arrived by another route (the CDN) while blocks were out: its buffer is free.
        if (receiving.get(index) === into) {
          receiving.delete(index)
          keep(into.buffer as ArrayBuffer)
        }
        return update()
      }
      // The piece went to placement already: this is a duplicate (an endgame or hot-swapped
      // request), and the buffer belongs to a worker now.
      if (receiving.get(index) !== into) return update()
      if (err || !block || block.length !== length) {
        cancel()
        return update()
      }
      copyMissing(piece, into, block, offset)
      if (!markBlocksIn(piece, reservation, length, wire)) return update()
      receiving.delete(index)
      placed.add(index)
      void sink.received(index, into).then(
        ({ ok, returned }) => {
          placed.delete(index)
          if (returned) keep(returned)
          if (t.destroyed) return
          if (ok) {
            t._markVerified(index)
            for (const w of torrent.wires) w.have(index)
            t._checkDone()
          } else {
            t.pieces[index] = new (piece.constructor as new (length: number) => PieceInternals)(piece.length)
            torrent.emit('warning', new Error(`Piece ${index} failed verification`))
          }
          update()
        },
      )
    })
  }
  return {
    askAgain: update,
    pieces: () => [...receiving.keys(), ...placed],
  }
}

interface WireReadInternals {
  /** MSE: present once negotiated, ciphering only when RC4 was chosen (not plaintext). */
  _encryptor: { readonly _isEncrypted: boolean } | null
  _cryptoSyncPattern: unknown
  _pePending: boolean
  _buffer: Uint8Array[]
  _bufferSize: number
  /** Bytes the next message (or its length prefix) needs before it is parsed. */
  _parserSize: number
  _parser: (unit: Uint8Array) => void
  _onMessage: unknown
  _write(data: Uint8Array, cb: (err: Error | null) => void): void
}

/** BitTorrent's `piece` message id. */
const PIECE_MESSAGE = 7

/** Wires whose blocks routePieces copies out before the parser returns (webtorrent's own store keeps views). */
const blocksCopiedOut = new WeakSet<Wire>()

/** Tells `wire`'s reads that whoever takes its blocks copies them before the parser returns. */
export function copiesBlocksOut(wire: Wire): void {
  blocksCopiedOut.add(wire)
}

/**
 * A message up to this size gets its buffer when its first bytes arrive (a block message: 128
 * KiB and its head). A larger one is kept as it comes and joined at its end, so a length a peer
 * merely announces allocates nothing.
 */
const JOIN_AHEAD_MAX = 1024 * 1024

/**
 * bittorrent-protocol joins each chunk it receives with the unparsed rest before it into a new
 * buffer. Chunks arrive smaller than a block message here, so a 16 KiB block was copied several
 * times over in growing allocations (1.35 s of a 1 GiB download's main thread, plus the
 * collector's work). This wire parses plaintext with bittorrent-protocol's own parsers, and keeps
 * no view of a chunk it was given: a socket may read into one reused buffer (readsIntoOneBuffer).
 * - A message that one chunk holds whole is parsed in place if it is a block message that
 *   routePieces copies out before the parser returns (blocksCopiedOut), and as a copy otherwise
 *   (a bitfield is kept, and so is a block in webtorrent's own store).
 * - A message split over chunks is copied in as they come: such a block message into a buffer
 *   the wire reuses, another into its own buffer (above JOIN_AHEAD_MAX, copies joined at the end).
 * RC4 wires and the MSE handshake keep bittorrent-protocol's own path (an MSE wire that settled
 * on plaintext takes this one); neither runs over a socket that reuses its buffer.
 */
export function lightenWireReads(wire: Wire): void {
  const w = wire as unknown as WireReadInternals
  const original = w._write
  let scratch = new Uint8Array(0)
  /** The message being joined as its chunks come, when it was given its buffer ahead (see JOIN_AHEAD_MAX). */
  let joining: Uint8Array | undefined
  const parse = (unit: Uint8Array) => {
    w._buffer = []
    w._bufferSize = 0
    joining = undefined
    w._parser(unit)
  }
  w._write = function (this: WireReadInternals, data, cb) {
    let at = 0
    while (at < data.length) {
      if (this._encryptor?._isEncrypted || this._cryptoSyncPattern || this._pePending) return original.call(this, data.subarray(at), cb)
      const size = this._parserSize
      const available = data.length - at
      const block = this._parser === this._onMessage && (this._bufferSize > 0 ? this._buffer[0]![0] : data[at]) === PIECE_MESSAGE && blocksCopiedOut.has(wire)
      if (this._bufferSize === 0 && available >= size) {
        const unit = data.subarray(at, at + size)
        at += size
        parse(block ? unit : new Uint8Array(unit))
        continue
      }
      const n = Math.min(size - this._bufferSize, available)
      const part = data.subarray(at, at + n)
      at += n
      if (this._bufferSize === 0 && size <= JOIN_AHEAD_MAX) {
        if (block && scratch.length < size) scratch = new Uint8Array(size)
        joining = block ? scratch.subarray(0, size) : new Uint8Array(size)
      }
      if (joining) {
        joining.set(part, this._bufferSize)
        this._bufferSize += n
        this._buffer = [joining.subarray(0, this._bufferSize)]
        if (this._bufferSize === size) parse(joining)
      } else {
        this._buffer.push(new Uint8Array(part))
        this._bufferSize += n
        if (this._bufferSize === size) parse(Buffer.concat(this._buffer, size))
      }
    }
    cb(null)
  }
}

interface PeerInternals {
  readonly wire: Wire | null
  readonly conn: { cork?: () => void; uncork?: () => void; write: (...args: unknown[]) => boolean } | null
}

/**
 * Each BitTorrent message reaches the socket as its own write (a block is two: its header and
 * its bytes), so 1 GiB took 131k write calls on the seeder and 65k request writes on the leecher.
 * The wire's socket is corked from its first write in a turn of the event loop until the next
 * turn, so what one turn produces goes out in one writev. `written` may return a callback for a
 * chunk, called once the socket is done with it (upload-loans.ts).
 */
export function batchWireWrites(torrent: Torrent, wire: Wire, written: (chunk: Uint8Array) => (() => void) | undefined = () => undefined): void {
  const peers = (torrent as unknown as { _peers: Map<string, PeerInternals> | null })._peers
  let conn: PeerInternals['conn'] = null
  for (const p of peers?.values() ?? []) if (p.wire === wire) conn = p.conn
  if (!conn?.cork || !conn.uncork) return
  const socket = conn
  const write = socket.write.bind(socket)
  let corked = false
  socket.write = (...args: unknown[]) => {
    if (!corked) {
      corked = true
      socket.cork!()
      setImmediate(() => {
        corked = false
        socket.uncork!()
      })
    }
    const done = args[0] instanceof Uint8Array ? written(args[0]) : undefined
    if (done) {
      const last = args.at(-1)
      if (typeof last === 'function') {
        args[args.length - 1] = (err?: Error | null) => {
          done()
          ;(last as (err?: Error | null) => void)(err)
        }
      } else args.push(done)
    }
    return write(...args)
  }
}

interface WireQueueInternals {
  readonly _readableState: { readonly buffered: number }
}

/** A wire with requests held back looks again at its queue whenever bytes go out to any peer, and at least this often. */
const UPLOAD_POLL_MS = 20

/**
 * webtorrent answers every block request at once, and a peer that reads slower than it asks
 * gets its answers queued in the wire's stream: 50 peers asking 8 MiB ahead each held a seeder
 * at 600 MB. Here a wire holds back further requests (not yet read from disk) while the bytes it
 * is answering plus those queued to go out reach `maxQueued` (of the number of wires), until
 * they drain below it.
 */
export function boundWireUploads(torrent: Torrent, wire: Wire, maxQueued: (wires: number) => number): void {
  const queued = () => (wire as unknown as WireQueueInternals)._readableState.buffered
  const emit = wire.emit.bind(wire)
  const held: [number, number, number, (err: Error | null, block?: Uint8Array) => void][] = []
  /** Bytes of requests passed on and not answered yet. */
  let answering = 0
  let timer: NodeJS.Timeout | undefined
  const pass = (index: number, offset: number, length: number, respond: (err: Error | null, block?: Uint8Array) => void) => {
    // webtorrent never answers a request for a piece it lacks: nothing to wait for then.
    if (!torrent.bitfield.get(index)) return emit('request', index, offset, length, respond)
    answering += length
    return emit('request', index, offset, length, (err: Error | null, block?: Uint8Array) => {
      answering -= length
      respond(err, block)
    })
  }
  const full = () => answering + queued() >= maxQueued(torrent.wires.length)
  const release = () => {
    while (held.length > 0 && !full()) pass(...held.shift()!)
    if (held.length === 0) {
      clearInterval(timer)
      timer = undefined
      torrent.off('upload', release)
    }
  }
  wire.emit = (event: string | symbol, ...args: unknown[]): boolean => {
    if (event !== 'request') return emit(event, ...args)
    const request = args as [number, number, number, (err: Error | null, block?: Uint8Array) => void]
    if (held.length === 0 && !full()) return pass(...request)
    held.push(request)
    if (timer === undefined) {
      timer = setInterval(release, UPLOAD_POLL_MS)
      // Bytes leaving for a peer (webtorrent's 'upload', after the wire's queue) make room. One
      // listener per wire holding requests, so as many as wires: no leak for Node to warn of.
      torrent.setMaxListeners(Math.max(torrent.getMaxListeners(), torrent.listenerCount('upload') + 1))
      torrent.on('upload', release)
    }
    return true
  }
  wire.once('close', () => {
    clearInterval(timer)
    torrent.off('upload', release)
    held.length = 0
  })
}

/** The parts of a speed-limiter ThrottleGroup (webtorrent's `client.throttleGroups`) a pump reads. */
interface ThrottleGroupInternals {
  getEnabled(): boolean
  getRate(): number
  getChunksize(): number
  readonly bucket: { tryRemoveTokens(count: number): boolean; removeTokens(count: number, cb: () => void): boolean }
}

interface PipedPeer {
  readonly destroyed: boolean
  readonly conn: PumpFrom & PumpTo
  readonly wire: PumpFrom & WireWriteInternals
  readonly throttleGroups: { readonly down: ThrottleGroupInternals; readonly up: ThrottleGroupInternals }
  emit(event: 'download' | 'upload', bytes: number): boolean
}

/** Sockets that read every chunk into the same buffer (tls-peers.ts), so what is kept of one is copied. */
const oneBufferSockets = new WeakSet<object>()

/** Tells the peer pipes that `socket` reads every chunk into one buffer it reuses. */
export function readsIntoOneBuffer(socket: object): void {
  oneBufferSockets.add(socket)
}

/** The parts of a wire's writable side (streamx) that `wireInput` uses. */
interface WireWriteInternals {
  readonly destroying: boolean
  _write(data: Uint8Array, cb: (err: Error | null) => void): void
  destroy(err?: Error): void
}

const parsed = () => {}

/**
 * The wire's stream (streamx) runs each write on a later tick, and at its 16 KiB mark answers a
 * 16 KiB TLS record with "full": the pump paused the socket and resumed it on 'drain', for every
 * record. Bytes go straight to the wire's parser instead (its `_write`, as lightenWireReads
 * wraps it, takes a chunk at once). The pump is the wire's only writer, so the order holds. A
 * parser that throws on a peer's bytes ends that wire, not the process.
 */
export function wireInput(wire: WireWriteInternals): PumpTo {
  return {
    on: () => wire,
    write: (chunk) => {
      if (wire.destroying) return true
      try {
        wire._write(chunk, parsed)
      } catch (err) {
        wire.destroy(err instanceof Error ? err : new Error(String(err)))
      }
      return true
    },
  }
}

/** With the group's rate at 0, nothing passes; it is looked at again after this long (as speed-limiter does). */
const ZERO_RATE_POLL_MS = 1000

/**
 * Lets bytes through `group` as speed-limiter's own stages do: in steps of its chunk size (the
 * bucket holds one second's worth), so a capped peer trickles rather than holding a block back
 * whole. Each call answers how many of the next `wanted` bytes may pass now; 0 means none yet,
 * and `later` runs once some may.
 */
function tokenGate(group: ThrottleGroupInternals, later: () => void): Gate {
  let paid = 0
  return (wanted) => {
    if (paid > 0) {
      const n = Math.min(paid, wanted)
      paid = 0
      return n
    }
    if (!group.getEnabled()) return wanted
    if (group.getRate() === 0) {
      setTimeout(later, ZERO_RATE_POLL_MS)
      return 0
    }
    const n = Math.min(wanted, group.getChunksize())
    if (group.bucket.tryRemoveTokens(n)) return n
    // A rate lowered below `n` meanwhile makes the bucket answer at once with an error: the step passes.
    group.bucket.removeTokens(n, () => {
      paid = n
      later()
    })
    return 0
  }
}

/**
 * webtorrent joins each peer's socket and wire through four streamx stages: a throttle and a byte
 * counter each way (`Peer.setThrottlePipes`). Every 16 KiB TLS record went through two of them,
 * the throttle as an async function even with no cap. Here each way is one pump that asks the
 * same throttle group for tokens only while it has a cap, and counts as webtorrent's stages do
 * ('download' and 'upload' on the peer). The peer still ends both streams when either ends or
 * fails (its own listeners). Every wire reads through lightenWireReads. For every peer of this
 * process, from the first call on.
 */
export function directPeerPipes(): void {
  Peer.prototype.setThrottlePipes = function (this: PipedPeer) {
    const stopped = () => this.destroyed
    // Before its first byte: the wire must keep no view of a chunk a socket reads into one buffer.
    lightenWireReads(this.wire as unknown as Wire)
    pump(this.conn, wireInput(this.wire), (later) => tokenGate(this.throttleGroups.down, later), (n) => this.emit('download', n), stopped, oneBufferSockets.has(this.conn))
    pump(this.wire, this.conn, (later) => tokenGate(this.throttleGroups.up, later), (n) => this.emit('upload', n), stopped)
  }
}
