// Fetches the pieces a job still needs from peers (webtorrent over TCP) into the staging
// files, while the pure CDN scheduler hands the CDN what peers cannot cover: pieces no
// connected peer has, the gap to a target rate, and a slow endgame. CDN bytes bypass
// webtorrent's 16 KiB block pipeline (the CDN source fetches merged ranges and verifies
// chunk SHA-256); the torrent is then told the piece is complete, so peers can have it.
import type { Torrent } from 'webtorrent'
import type { Manifest } from '../../../shared/release-schema.ts'
import { encodeTorrentFile, torrentInfoOf } from '../../release/torrent.ts'
import { unmapAddress, type PeerClass } from '../stats/peer-class.ts'
import { noCdnPieces, scheduleCdn, type CdnReason } from '../scheduler/cdn-scheduler.ts'
import { createPeerAccounting, type ChunkFromPeers } from './peer-accounting.ts'
import { createPeerBans } from './peer-bans.ts'
import { packGeometry } from '../storage/pack-geometry.ts'
import { InstallPieceStore, torrentBitfield, type FilePosition, type PieceStoreLayout } from '../storage/install-piece-store.ts'
import { createSwarmClient, type SwarmClientOptions } from './swarm-client.ts'
import { guardWires, type WireGuard } from './wire-guard.ts'
import type { LiveLimits } from '../../policy/live-limits.ts'

export interface CdnSchedule {
  /** Bytes per second the job should hold; 0: the CDN only covers what peers cannot. */
  readonly targetRate: number
  /** CDN bytes this job may still use; Infinity when unlimited. */
  readonly cdnBudget: number
  /** Pieces the CDN works on at once. */
  readonly maxCdnPieces: number
  readonly endgamePieces: number
  readonly horizonMs: number
}

export interface SwarmFetchOptions extends SwarmClientOptions {
  readonly manifest: Manifest
  /** Chunks still to fetch. */
  readonly pending: ReadonlySet<number>
  /** Where each pending chunk goes: staged files being assembled, never hard links into the install. */
  readonly writeTo: readonly FilePosition[][]
  /** Peers to dial directly ("host:port"). */
  readonly peers: readonly string[]
  readonly trackers: readonly string[]
  /** Peers that deliver nothing for this long count as absent: the CDN takes their pieces. */
  readonly stallMs: number
  readonly localAddresses: readonly string[]
  readonly schedule: CdnSchedule
  /** With no peer connected, the CDN waits this long for discovery (tracker, direct peers) before it starts. */
  readonly discoveryMs: number
  /** Whether a chunk is placed already (by any source). */
  readonly isDone: (chunk: number) => boolean
  /** Chunks completed by peers, each split by the class of the peers that sent it. */
  readonly onChunks: (chunks: ChunkFromPeers[]) => void
  /** Fetches, verifies and places chunks from the CDN; resolves once they are placed. */
  readonly fromCdn: (chunks: number[]) => Promise<void>
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
  /** Pieces handed to the CDN, by the scheduler's reason. */
  readonly cdnPieces: Record<CdnReason, number>
  /** Bytes uploaded to other peers while the job ran, by class. */
  readonly uploaded: Record<PeerClass, number>
}

const FAILED_PIECE = /^Piece (\d+) failed verification/
const TICK_MS = 100
/** A peer's bitfield follows its handshake within milliseconds on a LAN; 500 ms covers a loaded machine. */
const SETTLE_MS = 500

export async function fetchFromSwarm(o: SwarmFetchOptions): Promise<SwarmResult> {
  const m = o.manifest
  const now = o.now ?? (() => performance.now())
  const geometry = packGeometry(m)
  const pieceLength = m.pack.pieceLength
  const chunksOf = (piece: number): number[] => geometry.segments(piece).flatMap((s) => (s.kind === 'chunk' && o.pending.has(s.chunk) ? [s.chunk] : []))
  const neededPieces: number[] = []
  {
    const seen = new Set<number>()
    for (const c of o.pending) {
      const start = geometry.chunkOffsets[c]!
      for (let p = Math.floor(start / pieceLength); p <= Math.floor((start + m.chunks.size[c]! - 1) / pieceLength); p++) seen.add(p)
    }
    neededPieces.push(...[...seen].sort((a, b) => a - b))
  }
  const cdnPieces = noCdnPieces()
  const bans = createPeerBans()
  const accounting = createPeerAccounting(geometry, m.chunks.size, o.pending, o.isDone)
  if (neededPieces.length === 0) return { wasted: 0, banned: [], cdnPieces, uploaded: { lan: 0, wan: 0 } }

  // Pieces may also hold chunks that are done or live in linked files: writing those would be
  // redundant (and through a link, into the install), so the layout writes pending chunks only.
  const layout: PieceStoreLayout = {
    geometry,
    pieceHashes: Buffer.from(m.pack.pieces, 'base64'),
    readFrom: m.chunks.size.map((_, c) => o.writeTo[c]?.[0]),
    writeTo: m.chunks.size.map((_, c) => (o.pending.has(c) ? (o.writeTo[c] ?? []) : [])),
  }
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
  try {
    const torrentFile = encodeTorrentFile(torrentInfoOf(m), [...m.pack.announce, ...o.trackers], new Date(m.createdAt))
    // Pieces whose chunks are all placed already (a resumed job, an update) are complete from
    // the start: passed as the resume bitfield, so the torrent offers them without a re-hash.
    const placedPieces = geometry.completePieces((c) => !o.pending.has(c) && layout.readFrom[c] !== undefined)
    const bitfield = torrentBitfield(placedPieces, geometry.pieceCount)
    const torrent: Torrent = client.add(torrentFile, { store: InstallPieceStore, storeOpts: { shoal: layout }, bitfield, deselect: true, announce: [...o.trackers] })
    await new Promise<void>((resolve, reject) => {
      torrent.once('ready', () => resolve())
      torrent.once('error', reject)
    })
    const startedAt = now()
    const arrived = new Set<number>()
    const atCdn = new Set<number>()
    /** Pieces the CDN completed: their 'verified' events are ours, not a peer's. */
    const markedByCdn = new Set<number>()
    let bytesDone = 0
    let lastPeerBlock = startedAt
    let lastNewPeer: number | undefined

    // webtorrent does not attribute hash failures: remember who sent blocks of each piece,
    // charge every sender of a piece that fails, and drop banned peers (the guard drops
    // their incoming wires too).
    const senders = new Map<number, Set<string>>()
    const wires = guardWires(torrent, {
      maxPeers: o.maxPeers,
      isBanned: bans.isBanned,
      localAddresses: o.localAddresses,
      mayUpload: (cls) => {
        const r = o.limits?.rates
        return r === undefined || (r.uploadAllowed && (cls === 'lan' || r.uploadWan))
      },
      onWire: (wire, address, cls) => {
        lastNewPeer = now()
        wire.once('bitfield', () => (lastNewPeer = now()))
        wire.on('piece', (index: number, _offset: number, block: Uint8Array) => {
          senders.set(index, (senders.get(index) ?? new Set()).add(address))
          accounting.block(index, cls, block.length)
          lastPeerBlock = now()
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
    for (const p of neededPieces) torrent.select(p, p, 1)
    for (const peer of o.peers) torrent.addPeer(peer)

    await new Promise<void>((resolve, reject) => {
      let failure: unknown
      let cdnError: unknown
      const settle = () => {
        if (failure !== undefined) return reject(failure)
        if (arrived.size === neededPieces.length && atCdn.size === 0) resolve()
      }
      onAbort = () => {
        failure = o.signal!.reason
        settle()
      }
      if (o.signal?.aborted) onAbort()
      o.signal?.addEventListener('abort', onAbort, { once: true })
      const neededSet = new Set(neededPieces)
      const complete = (index: number) => {
        if (arrived.has(index) || !neededSet.has(index)) return
        arrived.add(index)
        bytesDone += pieceLength
      }
      torrent.on('verified', (index: number) => {
        senders.delete(index)
        if (markedByCdn.has(index)) return
        const chunks = accounting.verified(index)
        if (chunks.length > 0) o.onChunks(chunks)
        complete(index)
        settle()
      })

      let peersSeen = ''
      const countPeers = () => {
        const peers = wires.connected()
        if (`${peers.lan}/${peers.wan}` === peersSeen) return
        peersSeen = `${peers.lan}/${peers.wan}`
        o.onPeers?.(peers)
      }
      const tick = () => {
        countPeers()
        if (failure !== undefined || arrived.size === neededPieces.length) return settle()
        const t = now()
        if (cdnError !== undefined) {
          // Without the CDN the job rests on peers; when they stall too, it fails with the CDN's error.
          if (t - lastPeerBlock > o.stallMs) failure = cdnError
          return settle()
        }
        // Before peers have said what they have, every piece looks like one no peer has: the CDN
        // waits until no new peer has arrived for a while (or, with none at all, for discovery).
        const settling = lastNewPeer === undefined ? t - startedAt < o.discoveryMs : t - lastNewPeer < SETTLE_MS
        if (settling) return
        const stalled = t - lastPeerBlock > o.stallMs
        const availability = new Uint16Array(geometry.pieceCount)
        const fromPeers = new Set<number>()
        if (!stalled) {
          for (const wire of torrent.wires) for (const p of neededPieces) if (wire.peerPieces.get(p)) availability[p]!++
          // webtorrent keeps no public record of what it asked peers for: a piece counts as coming
          // from peers while a block request is out or once some of its blocks are in.
          const inner = torrent as unknown as { _reservations: (unknown[] | null)[]; pieces: ({ length: number; missing: number } | null)[] }
          for (const p of neededPieces) {
            const piece = inner.pieces[p]
            if (inner._reservations[p]?.some(Boolean) || (piece && piece.missing < piece.length)) fromPeers.add(p)
          }
        }
        const assigned = scheduleCdn({
          now: t,
          startedAt,
          pieceLength,
          needed: neededPieces.filter((p) => !arrived.has(p)),
          availability,
          fromPeers,
          fromCdn: atCdn,
          bytesDone,
          peerRate: stalled ? 0 : torrent.downloadSpeed,
          ...o.schedule,
        })
        for (const { piece, reason } of assigned) {
          cdnPieces[reason]++
          atCdn.add(piece)
          torrent.deselect(piece, piece)
          const chunks = chunksOf(piece).filter((c) => !o.isDone(c))
          // A CDN fetch may end after the swarm did (an abort): the torrent is gone by then.
          o.fromCdn(chunks).then(
            () => {
              if (torrent.destroyed) return
              atCdn.delete(piece)
              for (const c of chunks) accounting.placedElsewhere(c)
              if (!torrent.bitfield.get(piece)) {
                markedByCdn.add(piece)
                const marker = torrent as unknown as { _markVerified(i: number): void; _checkDone(): void }
                marker._markVerified(piece)
                for (const w of torrent.wires) w.have(piece)
                marker._checkDone()
              }
              complete(piece)
              settle()
              tick()
            },
            (err: unknown) => {
              if (torrent.destroyed) return
              atCdn.delete(piece)
              cdnError ??= err
              if (!arrived.has(piece)) torrent.select(piece, piece, 1)
              tick()
            },
          )
        }
      }
      timer = setInterval(tick, TICK_MS)
      tick()
    })
  } finally {
    clearInterval(timer)
    unwatch?.()
    if (onAbort) o.signal?.removeEventListener('abort', onAbort)
    accounting.finish()
    await new Promise<void>((resolve) => client.destroy(() => resolve()))
    o.onPeers?.({ lan: 0, wan: 0 })
  }
  return { wasted: accounting.wasted(), banned: bans.banned(), cdnPieces, uploaded: guard?.uploaded ?? { lan: 0, wan: 0 } }
}
