// Peers as a source of a fetch session: a webtorrent client on one torrent, used as the wire,
// the choker, the picker and discovery. Whole pieces go to the placement workers (routePieces);
// this module keeps what the CDN scheduler needs to know of the swarm (who holds which piece,
// who is a source, whether discovery may still bring peers), bans senders of failed pieces, cuts
// trickling wires, and counts what peers delivered and took.
import type { KeyObject } from 'node:crypto'
import type { Socket } from 'node:net'
import type { Torrent, Wire } from 'webtorrent'
import type { Manifest } from '../../../../shared/release-schema.ts'
import type { LiveLimits } from '../../../policy/live-limits.ts'
import { encodeTorrentFile, torrentInfoOf } from '../../../release/torrent.ts'
import { groupMembers, memberKey } from '../../scheduler/piece-owner.ts'
import { PEER_RUN_PIECES, PieceOrder, peerPieceRuns } from '../../scheduler/peer-piece-order.ts'
import { unmapAddress, type PeerClass } from '../../stats/peer-class.ts'
import { pieceSha1, wantedSlices, type PackGeometry } from '../../storage/pack-geometry.ts'
import { InstallPieceStore, PieceReader, torrentBitfield, type FilePosition } from '../../storage/install-piece-store.ts'
import { giveBackOnWrite } from '../../storage/upload-loans.ts'
import type { SwarmHooks } from '../../install/stager.ts'
import { readyOrStopped } from '../source.ts'
import { createPeerAccounting, type ChunkFromPeers } from './peer-accounting.ts'
import { createPeerBans } from './peer-bans.ts'
import { BYTES_IN_FLIGHT_PER_WIRE, FRONT_PIECES, PEER_PIECES_IN_FLIGHT, SETTLE_MS, uploadQueuePerWire } from './peer-settings.ts'
import { PieceAvailability } from './piece-availability.ts'
import { TrickleWatch } from './trickle-watch.ts'
import { WireLiveness } from './wire-liveness.ts'
import type { PeerSourceResult, SwarmPeers, SwarmView } from './swarm-peers.ts'
import type { AdmissionSettings, SwarmAdmission } from './swarm-admission.ts'
import { createSwarmClient, isShoalPeer, type SwarmClientOptions } from './swarm-client.ts'
import { tokenedTrackers } from './announce-params.ts'
import { secureSwarm, type TlsPeering } from './tls-peers.ts'
import { acceptIncoming, batchWireWrites, boundWireUploads, knownPeers, markPieceComplete, routePieces, selectInOrder, type PiecesInFlight } from './webtorrent-adapter.ts'
import { guardWires, type WireGuard } from './wire-guard.ts'

export interface PeerSourceOptions extends SwarmClientOptions, AdmissionSettings {
  readonly manifest: Manifest
  readonly geometry: PackGeometry
  /** The key that signed the manifest: the swarm's admission authority unless the release names another. */
  readonly publisherKey: KeyObject
  /** Chunks still to fetch. */
  readonly pending: ReadonlySet<number>
  /** Pieces to ask peers for, ascending. */
  readonly neededPieces: readonly number[]
  /** Where each pending chunk goes: staged files being assembled, never hard links into the install. */
  readonly stagedAt: (chunk: number) => FilePosition | undefined
  /** Peers to dial directly ("host:port"). */
  readonly peers: readonly string[]
  readonly trackers: readonly string[]
  /** Peers that unchoked us and deliver nothing for this long are no source. A choking peer is not stalled. */
  readonly stallMs: number
  /** A peer that owes blocks and sends fewer bytes per second than `minRate` over two windows of `trickleWindowMs` running is cut (0: never). */
  readonly minRate: number
  readonly trickleWindowMs: number
  readonly localAddresses: readonly string[]
  readonly isDone: (chunk: number) => boolean
  /** Chunks completed by peers, each split by the class of the peers that sent it. */
  readonly onChunks: (chunks: ChunkFromPeers[]) => void
  readonly placePiece: SwarmHooks['placePiece']
  readonly workers: SwarmHooks['workers']
  /** Pieces peers must not be asked for now (the CDN has them). */
  readonly skip: (piece: number) => boolean
  /** Something changed that may change the CDN's next decision. */
  readonly changed: () => void
  /** Peers delivered a piece: verified and placed. */
  readonly verified: (piece: number) => void
  readonly now: () => number
  readonly limits?: LiveLimits | undefined
  /** Connected peers by class, each time the count changes. */
  readonly onPeers?: ((peers: Record<PeerClass, number>) => void) | undefined
}

const FAILED_PIECE = /^Piece (\d+) failed verification/

/** Starts the swarm with webtorrent on the torrent, and waits for it to be ready to ask peers. */
export async function startPeerSource(o: PeerSourceOptions, announce: readonly string[], admission: SwarmAdmission | undefined): Promise<PeerSource> {
  const source = new PeerSource(o, announce, admission)
  return readyOrStopped(source, () => source.ready())
}

export class PeerSource implements SwarmPeers {
  readonly kind = 'peers'
  private readonly o: PeerSourceOptions
  private readonly admission: SwarmAdmission | undefined
  private readonly client: ReturnType<typeof createSwarmClient>
  private readonly torrent: Torrent
  private readonly peering: TlsPeering | undefined
  private readonly guard: WireGuard
  private readonly bans = createPeerBans()
  private readonly accounting: ReturnType<typeof createPeerAccounting>
  /** Every piece's SHA-1 from the signed torrent info, 20 bytes each. */
  private readonly pieceHashes: Buffer
  /** Serves our pieces to peers, from the staged files. */
  private readonly reader: PieceReader
  private readonly availability: PieceAvailability<Wire>
  private inFlight: PiecesInFlight = { pieces: () => [], askAgain: () => {} }
  private readonly unwatch: (() => void) | undefined
  private readonly trickled = new Set<string>()
  /** Who sent blocks of each piece: webtorrent does not attribute hash failures. */
  private readonly senders = new Map<number, Set<string>>()
  /** Wires from the LAN: they share our link to the CDN. */
  private readonly lanWires = new WeakSet<Wire>()
  private readonly liveness = new WireLiveness<Wire>()
  /** The job's order for peers, once it runs. */
  private order = new PieceOrder([])
  /** Pieces the CDN completed: their 'verified' events are not a peer's. */
  private readonly markedElsewhere = new Set<number>()
  private readonly trickle: TrickleWatch<Wire>
  private trackersPending: boolean
  private lastChange: number
  private peersSeen = ''
  private failure: unknown
  private ended: (() => void) | undefined
  private failed: ((err: unknown) => void) | undefined
  /** When peers last delivered a block. */
  lastBlockAt: number

  constructor(o: PeerSourceOptions, announce: readonly string[], admission: SwarmAdmission | undefined) {
    this.o = o
    this.admission = admission
    const m = o.manifest
    const start = o.now()
    this.trickle = new TrickleWatch(start, o.minRate, o.trickleWindowMs)
    this.lastChange = start
    this.lastBlockAt = start
    this.trackersPending = announce.length > 0
    this.availability = new PieceAvailability(o.geometry.pieceCount)
    this.accounting = createPeerAccounting(o.geometry, m.chunks.size, o.pending, o.isDone)
    // Uploads while the job runs are read from the staged files.
    this.pieceHashes = Buffer.from(m.pack.pieces, 'base64')
    const layout = { geometry: o.geometry, pieceHashes: this.pieceHashes, readFrom: o.stagedAt }
    this.client = createSwarmClient(o)
    const torrentFile = encodeTorrentFile(torrentInfoOf(m), tokenedTrackers(announce, o.trackerToken), new Date(m.createdAt))
    // Pieces whose chunks are all placed already (a resumed job, an update, the CDN while the
    // scout waited) are complete from the start: passed as the resume bitfield, so the torrent
    // offers them without a re-hash.
    const placedPieces = o.geometry.completePieces((c) => (!o.pending.has(c) || o.isDone(c)) && layout.readFrom(c) !== undefined)
    const bitfield = torrentBitfield(placedPieces, o.geometry.pieceCount)
    this.reader = new PieceReader(layout, o.workers)
    this.torrent = this.client.add(torrentFile, { store: InstallPieceStore, storeOpts: { shoal: this.reader }, storeCacheSlots: 0, bitfield, deselect: true, announce: tokenedTrackers(o.trackers, o.trackerToken) })
    this.peering = admission ? secureSwarm(this.client, this.torrent, admission, o.maxPeers, o.localAddresses) : undefined
    this.guard = this.guardWires()
    this.unwatch = o.limits?.watchPeers((r) => {
      this.client.throttleDownload(r.peerDown > 0 ? r.peerDown : -1)
      // No upload is enforced by choking (the guard), not by webtorrent's upload rate 0: that
      // throttles every message, the handshake included, so no peer could send to us either.
      this.client.throttleUpload(r.peerUp > 0 ? r.peerUp : -1)
      this.guard.enforceUpload()
    })
    this.torrent.on('trackerAnnounce', () => {
      this.trackersPending = false
      // The answer's peers are added right after this event: look again once they are.
      setImmediate(() => this.peerChanged())
    })
    this.torrent.on('warning', (err: Error) => this.pieceFailed(err))
    this.torrent.on('verified', (index: number) => this.pieceVerified(index))
  }

  /** Resolves once the torrent is ready to ask peers. */
  ready(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.torrent.once('ready', () => resolve())
      this.torrent.once('error', reject)
    })
  }

  /** Connections the scout accepted before this swarm listened. */
  acceptIncoming(conns: readonly Socket[]): void {
    for (const conn of conns) acceptIncoming(this.client, conn)
  }

  /** Asks peers for the needed pieces; settles when stopped, or rejects when a piece from peers could not be placed. */
  run(): Promise<void> {
    const o = this.o
    const pieceHashes = this.pieceHashes
    // Peers' pieces skip webtorrent's SHA-1 on the main thread and its store: a worker checks
    // each whole piece against the signed SHA-1 and writes its pending chunk slices.
    this.inFlight = routePieces(
      this.torrent,
      {
        received: async (index, piece) => {
          const { slices, whole } = wantedSlices(o.geometry, index, (c) => o.pending.has(c) && !o.isDone(c))
          try {
            const placed = await o.placePiece(piece, pieceSha1(pieceHashes, index), slices)
            // Every byte of the piece was just written from bytes its SHA-1 checked; a piece
            // with chunks placed before (maybe in an earlier run, which a power cut may have
            // lost) is hashed when first uploaded.
            if (placed.ok && whole) this.reader.placed(index)
            return placed
          } catch (err) {
            this.fail(err)
            return { ok: false, returned: undefined }
          }
        },
      },
      { maxPieces: PEER_PIECES_IN_FLIGHT, maxBytesPerWire: BYTES_IN_FLIGHT_PER_WIRE, largeBlocks: isShoalPeer, skip: o.skip },
    )
    // One selection per run of needed pieces: webtorrent walks its selections for every block it
    // asks for, and a selection per piece made that walk as long as the release. The runs are
    // short and in a random order of this job's own (peer-piece-order.ts).
    const needed = o.neededPieces
    const runs = peerPieceRuns(needed, PEER_RUN_PIECES, Math.random)
    selectInOrder(this.torrent, runs)
    this.order = new PieceOrder(runs)
    for (const peer of o.peers) this.torrent.addPeer(peer)
    return new Promise<void>((resolve, reject) => {
      if (this.failure !== undefined) return reject(this.failure)
      this.ended = resolve
      this.failed = reject
    })
  }

  /** The swarm as the CDN scheduler sees it at `now`, while `needed` are still to come. */
  view(now: number, needed: readonly number[]): SwarmView {
    let sources = 0
    const candidates: { peer: Wire; lan: boolean }[] = []
    for (const wire of this.torrent.wires) {
      const source = this.liveness.isSource(wire, wire.peerChoking, now, this.o.stallMs)
      if (source) sources++
      if (source && !this.availability.isCounted(wire)) this.availability.count(wire, (p) => wire.peerPieces.get(p))
      else if (!source) this.availability.forget(wire)
      // A stock client would never fetch its share from the CDN: only Shoal peers make a group.
      if (isShoalPeer(wire) && this.liveness.isMember(wire, source, now)) candidates.push({ peer: wire, lan: this.lanWires.has(wire) })
    }
    const { members, sharedLink } = groupMembers(candidates)
    const mates = members.filter((w) => needed.some((p) => !w.peerPieces.get(p)))
    return {
      sources,
      availability: this.availability.counts,
      inFlight: this.inFlight,
      rate: sources > 0 ? this.torrent.downloadSpeed : 0,
      trackersPending: this.trackersPending,
      connecting: Math.max(0, knownPeers(this.torrent) - this.torrent.wires.length) + (this.peering?.pending() ?? 0),
      silent: Math.max(0, this.torrent.wires.length - this.liveness.settled),
      lastChange: this.lastChange,
      group: members.length > 0 ? { self: memberKey(this.client.peerId), others: mates.map((w) => memberKey(w.peerId!)), sharedLink } : undefined,
      front: mates.length > 0 ? this.order.front(FRONT_PIECES, (p) => this.torrent.bitfield.get(p)) : undefined,
    }
  }

  /** Pieces `skip` refused are for peers again (the CDN gave them back). */
  askAgain(): void {
    this.inFlight.askAgain()
  }

  /** Chunks another source placed: peers' bytes for them no longer count. */
  placedElsewhere(chunks: Iterable<number>): void {
    for (const c of chunks) this.accounting.placedElsewhere(c)
  }

  /** A piece another source completed: recorded as complete and announced to every peer. */
  completedElsewhere(piece: number): void {
    if (this.torrent.bitfield.get(piece)) return
    this.markedElsewhere.add(piece)
    markPieceComplete(this.torrent, piece)
  }

  /** Reports peer counts and cuts trickling wires; called on the session's tick. */
  tick(now: number): void {
    const peers = this.guard.connected()
    if (`${peers.lan}/${peers.wan}` !== this.peersSeen) {
      this.peersSeen = `${peers.lan}/${peers.wan}`
      this.o.onPeers?.(peers)
    }
    for (const w of this.trickle.judge(now, () => this.torrent.wires.map((wire) => ({ key: wire, owes: wire.requests.length > 0 })))) {
      this.trickled.add(unmapAddress(w.remoteAddress ?? ''))
      w.destroy()
    }
  }

  result(): PeerSourceResult {
    return { wasted: this.accounting.wasted(), banned: this.bans.banned(), trickled: [...this.trickled], uploaded: this.guard.uploaded, peerRefusals: this.peering?.refusals() ?? {} }
  }

  async stop(): Promise<void> {
    this.unwatch?.()
    this.accounting.finish()
    this.peering?.stop()
    this.admission?.holder.stop()
    await new Promise<void>((resolve) => this.client.destroy(() => resolve()))
    this.o.onPeers?.({ lan: 0, wan: 0 })
    this.ended?.()
  }

  private fail(err: unknown): void {
    this.failure ??= err
    this.failed?.(err)
  }

  private peerChanged(): void {
    this.lastChange = this.o.now()
    this.o.changed()
  }

  private guardWires(): WireGuard {
    const o = this.o
    return guardWires(this.torrent, {
      maxPeers: o.maxPeers,
      isBanned: this.bans.isBanned,
      localAddresses: o.localAddresses,
      mayUpload: (cls) => {
        const r = o.limits?.rates
        return r === undefined || (r.uploadAllowed && (cls === 'lan' || r.uploadWan))
      },
      onWire: (wire, address, cls) => this.watchWire(wire, address, cls),
    })
  }

  private watchWire(wire: Wire, address: string, cls: PeerClass): void {
    if (cls === 'lan') this.lanWires.add(wire)
    batchWireWrites(this.torrent, wire, giveBackOnWrite)
    boundWireUploads(this.torrent, wire, uploadQueuePerWire)
    this.peerChanged()
    const settle = () => {
      if (this.liveness.settle(wire)) this.peerChanged()
    }
    setTimeout(settle, SETTLE_MS).unref()
    // A whole set of pieces at once: a bitfield, or the Fast extension's have-all and have-none.
    const recount = () => {
      settle()
      if (this.availability.isCounted(wire)) this.availability.count(wire, (p) => wire.peerPieces.get(p))
    }
    for (const event of ['bitfield', 'have-all', 'have-none']) wire.on(event, recount)
    wire.once('have', settle)
    wire.on('have', (piece: number) => {
      this.availability.have(wire, piece)
      this.liveness.announced(wire, this.o.now())
    })
    this.liveness.connected(wire, this.o.now())
    wire.on('unchoke', () => this.liveness.active(wire, this.o.now()))
    wire.once('close', () => {
      this.liveness.closed(wire)
      this.availability.forget(wire)
      this.peerChanged()
    })
    wire.on('piece', (index: number, _offset: number, block: Uint8Array) => {
      this.trickle.received(wire, block.length)
      this.senders.set(index, (this.senders.get(index) ?? new Set()).add(address))
      this.accounting.block(index, cls, block.length)
      this.lastBlockAt = this.o.now()
      this.liveness.active(wire, this.lastBlockAt)
    })
  }

  /** Charges every sender of a piece that failed verification, and drops banned peers (the guard drops their incoming wires too). */
  private pieceFailed(err: Error): void {
    const failed = FAILED_PIECE.exec(err.message)
    if (!failed) return
    const index = Number(failed[1])
    this.accounting.failed(index)
    for (const address of this.senders.get(index) ?? []) {
      if (this.bans.recordFailure(address)) for (const w of this.torrent.wires) if (unmapAddress(w.remoteAddress ?? '') === address) w.destroy()
    }
    this.senders.delete(index)
  }

  private pieceVerified(index: number): void {
    this.senders.delete(index)
    if (this.markedElsewhere.has(index)) return
    const chunks = this.accounting.verified(index)
    if (chunks.length > 0) this.o.onChunks(chunks)
    this.o.verified(index)
  }
}
