// A fetch session: the pieces a job still needs come from peers (webtorrent over TCP) into
// the staging files, while the pure CDN scheduler hands the CDN what peers cannot cover:
// pieces no connected peer has, the gap to a target rate, and a slow endgame. The CDN runs
// the same merged-range loops as without peers, pulling one piece at a time from this
// session as fast as it goes (never on a timer); each piece it completes is announced to
// peers. This module only coordinates, on an injected clock.
import type { Torrent, Wire } from 'webtorrent'
import type { Manifest } from '../../../shared/release-schema.ts'
import { encodeTorrentFile, torrentInfoOf } from '../../release/torrent.ts'
import { unmapAddress, type PeerClass } from '../stats/peer-class.ts'
import { discoveryPending, isPeerSource, noCdnPieces, scheduleCdn, type CdnReason, type SchedulerInput } from '../scheduler/cdn-scheduler.ts'
import { memberKey } from '../scheduler/piece-owner.ts'
import { createPeerAccounting, type ChunkFromPeers } from '../sources/peers/peer-accounting.ts'
import { createPeerBans } from '../sources/peers/peer-bans.ts'
import { judgePeers } from '../sources/peers/peer-trickle.ts'
import { DEFAULT_TRICKLE } from '../sources/cdn/trickle-rule.ts'
import { packGeometry } from '../storage/pack-geometry.ts'
import { InstallPieceStore, PieceReader, torrentBitfield, type FilePosition, type PieceStoreLayout } from '../storage/install-piece-store.ts'
import { createSwarmClient, isShoalPeer, type SwarmClientOptions } from '../sources/peers/swarm-client.ts'
import { uploadQueuePerWire } from '../sources/peers/peer-settings.ts'
import { guardWires, type WireGuard } from '../sources/peers/wire-guard.ts'
import { batchWireWrites, boundWireUploads, knownPeers, lightenWireReads, markPieceComplete, pieceFromPeers, routePieces } from '../sources/peers/webtorrent-adapter.ts'
import type { CdnWork, PieceSlice, SwarmHooks } from '../install/stager.ts'
import type { LiveLimits } from '../../policy/live-limits.ts'
import type { KeyObject } from 'node:crypto'
import { isShoalError } from '../../../shared/errors.ts'
import { joinAdmission, secureSwarm, type AdmissionSettings, type SwarmAdmission } from '../sources/peers/swarm-admission.ts'
import type { TlsPeering } from '../sources/peers/tls-peers.ts'
import type { Refusals } from '../sources/peers/refusals.ts'

/** The scheduler's settings for one job: the inputs of scheduleCdn that do not change as it runs. */
export type CdnSchedule = Pick<SchedulerInput, 'targetRate' | 'cdnBudget' | 'maxCdnPieces' | 'endgamePieces' | 'horizonMs' | 'finishBound'>

export interface SwarmFetchOptions extends SwarmClientOptions, AdmissionSettings {
  readonly manifest: Manifest
  /** The key that signed the manifest: the swarm's admission authority unless the release names another. */
  readonly publisherKey: KeyObject
  /** Chunks still to fetch. */
  readonly pending: ReadonlySet<number>
  /** Where each pending chunk goes: staged files being assembled, never hard links into the install. */
  readonly stagedAt: (chunk: number) => FilePosition | undefined
  /** Peers to dial directly ("host:port"). */
  readonly peers: readonly string[]
  readonly trackers: readonly string[]
  /** Peers that unchoked us and deliver nothing for this long count as absent: the CDN takes their pieces. A choking peer is not stalled. */
  readonly stallMs: number
  /** A peer that owes blocks and sends fewer bytes per second than `minRate` over two windows of `trickleWindowMs` running is cut (0: never). */
  readonly minRate: number
  readonly trickleWindowMs: number
  readonly localAddresses: readonly string[]
  readonly schedule: CdnSchedule
  /** Longest wait for a tracker's first answer before the CDN starts. */
  readonly discoveryMs: number
  /** Whether a chunk is placed already (by any source). */
  readonly isDone: (chunk: number) => boolean
  /** Chunks completed by peers, each split by the class of the peers that sent it. */
  readonly onChunks: (chunks: ChunkFromPeers[]) => void
  /** Runs the CDN's range loops on the work this session hands out. */
  readonly runCdn: (work: CdnWork) => Promise<void>
  /** Checks a piece from peers against its SHA-1 and writes its pending slices (see routePieces). */
  readonly placePiece: SwarmHooks['placePiece']
  /** The placement workers, which also read pieces for upload. */
  readonly workers: SwarmHooks['workers']
  readonly now?: () => number
  /** Aborting ends the swarm at once and fails the fetch with the abort reason. */
  readonly signal?: AbortSignal
  /** Peer rates that may change while the fetch runs. */
  readonly limits?: LiveLimits
  /** Connected peers by class, each time the count changes. */
  readonly onPeers?: (peers: Record<PeerClass, number>) => void
}

export interface SwarmResult {
  /** Peer bytes received and not used: duplicates, slices already placed, failed pieces. */
  readonly wasted: number
  /** Addresses banned for sending pieces that failed verification. */
  readonly banned: string[]
  /** Addresses whose wires were cut for trickling. */
  readonly trickled: string[]
  /** Pieces handed to the CDN, by the scheduler's reason. */
  readonly cdnPieces: Record<CdnReason, number>
  /** Bytes uploaded to other peers while the job ran, by class. */
  readonly uploaded: Record<PeerClass, number>
  /** Peers refused admission to the swarm (or that refused us), by reason. */
  readonly peerRefusals: Refusals
  /** Why this client could not join the swarm (no pass): the CDN then brought everything. */
  readonly peerAuthError?: string
}

const FAILED_PIECE = /^Piece (\d+) failed verification/
/** How often stalls and peer counts are looked at while nothing else happens. */
const TICK_MS = 100
/** A peer's bitfield follows its handshake within milliseconds on a LAN; 500 ms covers a loaded machine. */
const SETTLE_MS = 500
/**
 * Pieces from peers in memory at once, being received or placed: 4 MiB each at the default
 * piece size. Enough to keep both placement workers and several peers busy.
 */
const PEER_PIECES_IN_FLIGHT = 8
/** Bytes requested and not received per wire: a LAN's bandwidth-delay product many times over, and 64 Mbit/s at 1 s RTT. */
const BYTES_IN_FLIGHT_PER_WIRE = 8 * 1024 * 1024

export async function fetchFromSwarm(o: SwarmFetchOptions): Promise<SwarmResult> {
  const m = o.manifest
  const now = o.now ?? (() => performance.now())
  const geometry = packGeometry(m)
  const pieceLength = m.pack.pieceLength
  const piecesOf = (chunk: number): [number, number] => {
    const start = geometry.chunkOffsets[chunk]!
    return [Math.floor(start / pieceLength), Math.floor((start + m.chunks.size[chunk]! - 1) / pieceLength)]
  }
  const chunksOf = (piece: number): number[] => geometry.segments(piece).flatMap((s) => (s.kind === 'chunk' && o.pending.has(s.chunk) ? [s.chunk] : []))
  const neededSet = new Set<number>()
  for (const c of o.pending) {
    const [first, last] = piecesOf(c)
    for (let p = first; p <= last; p++) neededSet.add(p)
  }
  const neededPieces = [...neededSet].sort((a, b) => a - b)
  const cdnPieces = noCdnPieces()
  const bans = createPeerBans()
  const trickled = new Set<string>()
  const accounting = createPeerAccounting(geometry, m.chunks.size, o.pending, o.isDone)
  const nothing = { wasted: 0, banned: [], trickled: [], cdnPieces, uploaded: { lan: 0, wan: 0 }, peerRefusals: {} }
  if (neededPieces.length === 0) return nothing
  const announce = [...new Set([...m.pack.announce, ...o.trackers])]
  let admission: SwarmAdmission | undefined
  try {
    admission = await joinAdmission(m, o.publisherKey, announce, o.trackerToken, o)
  } catch (err) {
    // Without a pass no peer would admit us: the CDN brings it all, and the reason is reported.
    if (isShoalError(err) && err.code === 'E_PEER_AUTH') return { ...nothing, peerAuthError: err.message }
    throw err
  }

  // Uploads while the job runs are read from the staged files.
  const layout: PieceStoreLayout = { geometry, pieceHashes: Buffer.from(m.pack.pieces, 'base64'), readFrom: o.stagedAt }
  const client = createSwarmClient(o)
  let guard: WireGuard | undefined
  const unwatch = o.limits?.watchPeers((r) => {
    client.throttleDownload(r.peerDown > 0 ? r.peerDown : -1)
    // No upload is enforced by choking (the guard), not by webtorrent's upload rate 0: that
    // throttles every message, the handshake included, so no peer could send to us either.
    client.throttleUpload(r.peerUp > 0 ? r.peerUp : -1)
    guard?.enforceUpload()
  })
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  let cdnRun: Promise<void> | undefined
  let peering: TlsPeering | undefined
  const waiting: (() => void)[] = []
  /** Lets the CDN's waiting loops decide again: something changed. */
  const wake = () => {
    for (const resolve of waiting.splice(0)) resolve()
  }
  try {
    const torrentFile = encodeTorrentFile(torrentInfoOf(m), announce, new Date(m.createdAt))
    // Pieces whose chunks are all placed already (a resumed job, an update) are complete from
    // the start: passed as the resume bitfield, so the torrent offers them without a re-hash.
    const placedPieces = geometry.completePieces((c) => !o.pending.has(c) && layout.readFrom(c) !== undefined)
    const bitfield = torrentBitfield(placedPieces, geometry.pieceCount)
    const torrent: Torrent = client.add(torrentFile, { store: InstallPieceStore, storeOpts: { shoal: new PieceReader(layout, o.workers) }, storeCacheSlots: 0, bitfield, deselect: true, announce: [...o.trackers] })
    if (admission) peering = secureSwarm(client, torrent, admission, o.maxPeers, o.localAddresses)
    await new Promise<void>((resolve, reject) => {
      torrent.once('ready', () => resolve())
      torrent.once('error', reject)
    })
    const startedAt = now()
    const arrived = new Set<number>()
    /** Pieces the CDN took and has not completed. */
    const atCdn = new Set<number>()
    /** Chunks the CDN is fetching: a chunk straddling two pieces goes with the first piece it takes. */
    const claimed = new Set<number>()
    /** Pieces the CDN completed: their 'verified' events are ours, not a peer's. */
    const markedByCdn = new Set<number>()
    let bytesDone = 0
    let lastPeerBlock = startedAt
    let trackersPending = announce.length > 0
    let lastPeerChange = startedAt
    /** Wires that said what they have (or had time to). */
    const settled = new Set<unknown>()
    /** Block bytes per wire since the last trickle window, and slow windows in a row. */
    const windowBytes = new Map<Wire, number>()
    let slowWires = new Map<Wire, number>()
    let windowStart = startedAt
    /** When each wire last unchoked us or sent a block: a holder that chokes us is still a source (stock clients unchoke in rounds of ~10 s). */
    const activeAt = new Map<Wire, number>()
    /** The CDN's measured rate: its bytes over the time it had pieces in flight. */
    let cdnBytes = 0
    let cdnBusyMs = 0
    let cdnBusySince: number | undefined
    let cdnRateSeen = 0
    let failure: unknown
    let cdnError: unknown
    let settleSession = () => {}
    const fail = (err: unknown) => {
      failure ??= err
      wake()
      settleSession()
    }
    const noteCdnBusy = () => {
      const t = now()
      if (atCdn.size > 0) cdnBusySince ??= t
      else if (cdnBusySince !== undefined) {
        cdnBusyMs += t - cdnBusySince
        cdnBusySince = undefined
      }
    }
    const peerChanged = () => {
      lastPeerChange = now()
      wake()
    }
    torrent.on('trackerAnnounce', () => {
      trackersPending = false
      // The answer's peers are added right after this event: look again once they are.
      setImmediate(peerChanged)
    })

    // webtorrent does not attribute hash failures: remember who sent blocks of each piece,
    // charge every sender of a piece that fails, and drop banned peers (the guard drops
    // their incoming wires too).
    const senders = new Map<number, Set<string>>()
    // LAN peers share our link to the CDN: with Shoal ones we are in the scheduler's group.
    const lanWires = new WeakSet<Wire>()
    const wires = guardWires(torrent, {
      maxPeers: o.maxPeers,
      isBanned: bans.isBanned,
      localAddresses: o.localAddresses,
      mayUpload: (cls) => {
        const r = o.limits?.rates
        return r === undefined || (r.uploadAllowed && (cls === 'lan' || r.uploadWan))
      },
      onWire: (wire, address, cls) => {
        if (cls === 'lan') lanWires.add(wire)
        lightenWireReads(wire)
        batchWireWrites(torrent, wire)
        boundWireUploads(torrent, wire, uploadQueuePerWire)
        peerChanged()
        const settle = () => {
          if (settled.has(wire)) return
          settled.add(wire)
          peerChanged()
        }
        wire.once('bitfield', settle)
        wire.once('have', settle)
        setTimeout(settle, SETTLE_MS).unref()
        activeAt.set(wire, now())
        wire.on('unchoke', () => activeAt.set(wire, now()))
        wire.once('close', () => {
          settled.delete(wire)
          activeAt.delete(wire)
          peerChanged()
        })
        wire.on('piece', (index: number, _offset: number, block: Uint8Array) => {
          windowBytes.set(wire, (windowBytes.get(wire) ?? 0) + block.length)
          senders.set(index, (senders.get(index) ?? new Set()).add(address))
          accounting.block(index, cls, block.length)
          lastPeerBlock = now()
          activeAt.set(wire, lastPeerBlock)
        })
      },
    })
    guard = wires
    torrent.on('warning', (err: Error) => {
      const failed = FAILED_PIECE.exec(err.message)
      if (!failed) return
      const index = Number(failed[1])
      accounting.failed(index)
      for (const address of senders.get(index) ?? []) {
        if (bans.recordFailure(address)) for (const w of torrent.wires) if (unmapAddress(w.remoteAddress ?? '') === address) w.destroy()
      }
      senders.delete(index)
    })
    // Peers' pieces skip webtorrent's SHA-1 on the main thread and its store: a worker checks
    // each whole piece against the signed SHA-1 and writes its pending chunk slices.
    const pieceHashes = layout.pieceHashes
    routePieces(
      torrent,
      {
        received: async (index, piece) => {
          const slices: PieceSlice[] = []
          let at = 0
          for (const seg of geometry.segments(index)) {
            if (seg.kind === 'chunk' && o.pending.has(seg.chunk) && !o.isDone(seg.chunk)) slices.push({ chunk: seg.chunk, offsetInChunk: seg.offset, offsetInPiece: at, length: seg.length })
            at += seg.length
          }
          try {
            return await o.placePiece(piece, pieceHashes.subarray(index * 20, index * 20 + 20), slices)
          } catch (err) {
            fail(err)
            return { ok: false, returned: undefined }
          }
        },
      },
      { maxPieces: PEER_PIECES_IN_FLIGHT, maxBytesPerWire: BYTES_IN_FLIGHT_PER_WIRE, largeBlocks: isShoalPeer, skip: (index) => atCdn.has(index) },
    )
    // One selection per run of needed pieces: webtorrent walks its selections for every block it
    // asks for, and a selection per piece made that walk as long as the release.
    for (let i = 0; i < neededPieces.length; ) {
      let j = i
      while (j + 1 < neededPieces.length && neededPieces[j + 1] === neededPieces[j]! + 1) j++
      torrent.select(neededPieces[i]!, neededPieces[j]!, 1)
      i = j + 1
    }
    for (const peer of o.peers) torrent.addPeer(peer)

    const finished = () => failure !== undefined || arrived.size === neededPieces.length
    const complete = (index: number) => {
      if (arrived.has(index) || !neededSet.has(index)) return
      arrived.add(index)
      bytesDone += pieceLength
      wake()
    }
    /** A piece whose chunks are all placed by the CDN (or were already): complete, and announced to peers. */
    const completeIfPlaced = (p: number) => {
      if (arrived.has(p) || !chunksOf(p).every(o.isDone)) return
      atCdn.delete(p)
      noteCdnBusy()
      if (!torrent.bitfield.get(p)) {
        markedByCdn.add(p)
        markPieceComplete(torrent, p)
      }
      complete(p)
    }
    const cdnPlaced = (chunks: readonly number[]) => {
      const touched = new Set<number>()
      for (const c of chunks) {
        cdnBytes += m.chunks.size[c]!
        claimed.delete(c)
        accounting.placedElsewhere(c)
        const [first, last] = piecesOf(c)
        for (let p = first; p <= last; p++) touched.add(p)
      }
      for (const p of touched) completeIfPlaced(p)
    }
    /** The CDN's next piece, as the scheduler decides it now; undefined: none now. */
    const decide = (): number[] | undefined => {
      const t = now()
      const peersConnecting = Math.max(0, knownPeers(torrent) - torrent.wires.length) + (peering?.pending() ?? 0)
      const peersSilent = Math.max(0, torrent.wires.length - settled.size)
      if (discoveryPending({ now: t, startedAt, discoveryMs: o.discoveryMs, trackersPending, peersConnecting, peersSilent, lastPeerChange, settleMs: SETTLE_MS })) return undefined
      const sources = torrent.wires.filter((w) => isPeerSource({ choking: w.peerChoking, activeAt: activeAt.get(w) ?? t }, t, o.stallMs))
      const availability = new Uint16Array(geometry.pieceCount)
      const fromPeers = new Set<number>()
      for (const wire of sources) for (const p of neededPieces) if (wire.peerPieces.get(p)) availability[p]!++
      if (sources.length > 0) for (const p of neededPieces) if (!arrived.has(p) && pieceFromPeers(torrent, p)) fromPeers.add(p)
      const cdnMs = cdnBusyMs + (cdnBusySince === undefined ? 0 : t - cdnBusySince)
      // The best rate seen: sharing the link with peers only lowers what the CDN gets.
      if (cdnBytes > 0 && cdnMs > 0) cdnRateSeen = Math.max(cdnRateSeen, (cdnBytes * 1000) / cdnMs)
      // Shoal peers on the LAN run this rule too; those still missing some of our pieces bring their own in.
      const lan = sources.filter((w) => lanWires.has(w) && isShoalPeer(w))
      const mates = lan.filter((w) => neededPieces.some((p) => !arrived.has(p) && !w.peerPieces.get(p)))
      const [next] = scheduleCdn({
        now: t,
        startedAt,
        pieceLength,
        needed: neededPieces.filter((p) => !arrived.has(p)),
        availability,
        fromPeers,
        fromCdn: atCdn,
        bytesDone,
        peerRate: sources.length > 0 ? torrent.downloadSpeed : 0,
        cdnRate: cdnRateSeen,
        ...(lan.length > 0 ? { group: { self: memberKey(client.peerId), others: mates.map((w) => memberKey(w.peerId!)) } } : {}),
        ...o.schedule,
      })
      if (!next) return undefined
      cdnPieces[next.reason]++
      const chunks = chunksOf(next.piece).filter((c) => !o.isDone(c) && !claimed.has(c))
      for (const c of chunks) claimed.add(c)
      atCdn.add(next.piece)
      noteCdnBusy()
      completeIfPlaced(next.piece)
      return chunks
    }
    const work: CdnWork = {
      next: async () => {
        for (;;) {
          if (finished() || cdnError !== undefined) return undefined
          const chunks = decide()
          // A piece whose chunks the CDN already carries with a neighbour completes with it.
          if (chunks) {
            if (chunks.length > 0) return chunks
            continue
          }
          await new Promise<void>((resolve) => waiting.push(resolve))
        }
      },
      placed: cdnPlaced,
    }

    await new Promise<void>((resolve, reject) => {
      const settle = () => {
        if (failure !== undefined) return reject(failure)
        if (arrived.size === neededPieces.length) resolve()
      }
      settleSession = settle
      onAbort = () => fail(o.signal!.reason)
      if (o.signal?.aborted) onAbort()
      o.signal?.addEventListener('abort', onAbort, { once: true })
      torrent.on('verified', (index: number) => {
        senders.delete(index)
        if (markedByCdn.has(index)) return
        const chunks = accounting.verified(index)
        if (chunks.length > 0) o.onChunks(chunks)
        complete(index)
        settle()
      })
      cdnRun = o.runCdn(work).then(
        () => settle(),
        (err: unknown) => {
          // Without the CDN the job rests on peers: its pieces go back to them (see `skip`).
          cdnError = err
          atCdn.clear()
          noteCdnBusy()
          claimed.clear()
          settle()
        },
      )

      let peersSeen = ''
      const tick = () => {
        const peers = wires.connected()
        if (`${peers.lan}/${peers.wan}` !== peersSeen) {
          peersSeen = `${peers.lan}/${peers.wan}`
          o.onPeers?.(peers)
        }
        if (o.minRate > 0 && now() - windowStart >= o.trickleWindowMs) {
          const verdict = judgePeers(slowWires, torrent.wires.map((w) => ({ key: w, bytes: windowBytes.get(w) ?? 0, owes: w.requests.length > 0 })), now() - windowStart, o.minRate, DEFAULT_TRICKLE.windows)
          slowWires = verdict.slow
          windowBytes.clear()
          windowStart = now()
          for (const w of verdict.cut) {
            trickled.add(unmapAddress(w.remoteAddress ?? ''))
            w.destroy()
          }
        }
        // Without the CDN, when peers stall too, the job fails with the CDN's error.
        if (cdnError !== undefined && failure === undefined && now() - lastPeerBlock > o.stallMs) failure = cdnError
        wake()
        settle()
      }
      timer = setInterval(tick, TICK_MS)
      tick()
    })
    // The CDN's loops end once every piece is in; their last placements finish first.
    await cdnRun
  } finally {
    clearInterval(timer)
    unwatch?.()
    if (onAbort) o.signal?.removeEventListener('abort', onAbort)
    wake()
    await cdnRun?.catch(() => undefined)
    accounting.finish()
    peering?.stop()
    admission?.holder.stop()
    await new Promise<void>((resolve) => client.destroy(() => resolve()))
    o.onPeers?.({ lan: 0, wan: 0 })
  }
  return { wasted: accounting.wasted(), banned: bans.banned(), trickled: [...trickled], cdnPieces, uploaded: guard?.uploaded ?? { lan: 0, wan: 0 }, peerRefusals: peering?.refusals() ?? {} }
}
