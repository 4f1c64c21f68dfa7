// A fetch session: the pieces a job still needs come from peers (the peer source, webtorrent
// over TCP or TLS) into the staging files, while the pure CDN scheduler hands the CDN what peers
// cannot cover: pieces no connected peer has, the gap to a target rate, and a slow endgame. The
// CDN runs the same merged-range loops as without peers, pulling one piece at a time from this
// session as fast as it goes (never on a timer); each piece it completes is announced to peers.
// This module only coordinates, on an injected clock.
import type { PeerClass } from '../stats/peer-class.ts'
import { discoveryPending, noCdnPieces, scheduleCdn, type CdnReason, type SchedulerInput } from '../scheduler/cdn-scheduler.ts'
import { removePiece } from '../scheduler/pieces-left.ts'
import { packGeometry } from '../storage/pack-geometry.ts'
import type { PeerSourceOptions } from '../sources/peers/peer-source.ts'
import type { SwarmPeers } from '../sources/peers/swarm-peers.ts'
import { openSwarmPeers } from '../sources/peers/scouted-peers.ts'
import { SETTLE_MS } from '../sources/peers/peer-settings.ts'
import type { Source } from '../sources/source.ts'
import type { CdnWork } from '../sources/cdn/cdn-ranges.ts'
import type { Refusals } from '../sources/peers/refusals.ts'

/** The scheduler's settings for one job: the inputs of scheduleCdn that do not change as it runs. */
export type CdnSchedule = Pick<SchedulerInput, 'targetRate' | 'cdnBudget' | 'maxCdnPieces' | 'endgamePieces' | 'horizonMs' | 'finishBound'>

/** What the session adds to the peer source's settings: the CDN's schedule and loops, the clock, and the abort. */
export interface SwarmFetchOptions extends Omit<PeerSourceOptions, 'geometry' | 'neededPieces' | 'skip' | 'changed' | 'verified' | 'now'> {
  readonly schedule: CdnSchedule
  /** Longest wait for a tracker's first answer before the CDN starts. */
  readonly discoveryMs: number
  /** Runs the CDN's range loops on the work this session hands out. */
  readonly runCdn: (work: CdnWork) => Promise<void>
  readonly now?: () => number
  /** Aborting ends the swarm at once and fails the fetch with the abort reason. */
  readonly signal?: AbortSignal
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

/** How often stalls and peer counts are looked at while nothing else happens. */
const TICK_MS = 100

export async function fetchFromSwarm(o: SwarmFetchOptions): Promise<SwarmResult> {
  const m = o.manifest
  const now = o.now ?? (() => performance.now())
  const geometry = packGeometry(m)
  const pieceLength = m.pack.pieceLength
  const piecesOf = (chunk: number): [number, number] => {
    const start = geometry.chunkOffsets[chunk]!
    return [Math.floor(start / pieceLength), Math.floor((start + m.chunks.size[chunk]! - 1) / pieceLength)]
  }
  /** The pending chunks piece `piece` carries bytes of; asked on every CDN decision, so no segment objects are built. */
  const chunksOf = (piece: number): number[] => {
    const { first, end } = geometry.chunkSpan(piece)
    const out: number[] = []
    for (let c = first; c < end; c++) if (o.pending.has(c)) out.push(c)
    return out
  }
  const neededSet = new Set<number>()
  for (const c of o.pending) {
    const [first, last] = piecesOf(c)
    for (let p = first; p <= last; p++) neededSet.add(p)
  }
  const neededPieces = [...neededSet].sort((a, b) => a - b)
  const cdnPieces = noCdnPieces()
  const nothing = { wasted: 0, banned: [], trickled: [], cdnPieces, uploaded: { lan: 0, wan: 0 }, peerRefusals: {} }
  if (neededPieces.length === 0) return nothing

  const arrived = new Set<number>()
  /** Needed pieces not arrived yet, ascending (pieces-left.ts). */
  const stillNeeded = [...neededPieces]
  /** Pieces the CDN took and has not completed. */
  const atCdn = new Set<number>()
  /** Chunks the CDN is fetching: a chunk straddling two pieces goes with the first piece it takes. */
  const claimed = new Set<number>()
  const waiting: (() => void)[] = []
  /** Lets the CDN's waiting loops decide again: something changed. */
  const wake = () => {
    for (const resolve of waiting.splice(0)) resolve()
  }
  let bytesDone = 0
  let settleSession = () => {}
  const complete = (index: number) => {
    if (arrived.has(index) || !neededSet.has(index)) return
    arrived.add(index)
    removePiece(stillNeeded, index)
    bytesDone += pieceLength
    wake()
  }
  const opened = await openSwarmPeers({
    ...o,
    geometry,
    neededPieces,
    neededNow: () => [...stillNeeded],
    left: () => Math.max(0, (neededPieces.length - arrived.size) * pieceLength),
    skip: (index) => atCdn.has(index),
    changed: wake,
    verified: (index) => {
      complete(index)
      settleSession()
    },
    now,
  })
  if ('authError' in opened) return { ...nothing, peerAuthError: opened.authError }
  const peers: SwarmPeers = opened

  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  let cdnRun: Promise<void> | undefined
  try {
    const startedAt = now()
    /** The CDN's measured rate: its bytes over the time it had pieces in flight. */
    let cdnBytes = 0
    let cdnBusyMs = 0
    let cdnBusySince: number | undefined
    let cdnRateSeen = 0
    let failure: unknown
    let cdnError: unknown
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
    const finished = () => failure !== undefined || arrived.size === neededPieces.length
    /** A piece whose chunks are all placed by the CDN (or were already): complete, and announced to peers. */
    const completeIfPlaced = (p: number) => {
      if (arrived.has(p) || !chunksOf(p).every(o.isDone)) return
      atCdn.delete(p)
      noteCdnBusy()
      peers.completedElsewhere(p)
      complete(p)
    }
    const cdnPlaced = (chunks: readonly number[]) => {
      const touched = new Set<number>()
      for (const c of chunks) {
        cdnBytes += m.chunks.size[c]!
        claimed.delete(c)
        const [first, last] = piecesOf(c)
        for (let p = first; p <= last; p++) touched.add(p)
      }
      peers.placedElsewhere(chunks)
      for (const p of touched) completeIfPlaced(p)
    }
    /** The CDN's next piece, as the scheduler decides it now; undefined: none now. */
    const decide = (): number[] | undefined => {
      const t = now()
      const swarm = peers.view(t, stillNeeded)
      if (discoveryPending({ now: t, startedAt, discoveryMs: o.discoveryMs, trackersPending: swarm.trackersPending, peersConnecting: swarm.connecting, peersSilent: swarm.silent, lastPeerChange: swarm.lastChange, settleMs: SETTLE_MS })) return undefined
      const fromPeers = new Set<number>()
      if (swarm.sources > 0) for (const p of swarm.inFlight.pieces()) if (neededSet.has(p) && !arrived.has(p)) fromPeers.add(p)
      const cdnMs = cdnBusyMs + (cdnBusySince === undefined ? 0 : t - cdnBusySince)
      // The best rate seen: sharing the link with peers only lowers what the CDN gets.
      if (cdnBytes > 0 && cdnMs > 0) cdnRateSeen = Math.max(cdnRateSeen, (cdnBytes * 1000) / cdnMs)
      const cdnRoom = o.limits?.rates.cdnDown ?? 0
      const [next] = scheduleCdn({
        now: t,
        startedAt,
        pieceLength,
        needed: stillNeeded,
        availability: swarm.availability,
        fromPeers,
        fromCdn: atCdn,
        bytesDone,
        peerRate: swarm.rate,
        cdnRate: cdnRateSeen,
        ...(cdnRoom > 0 ? { cdnRoom } : {}),
        ...(swarm.group ? { group: swarm.group } : {}),
        ...(swarm.front ? { front: swarm.front } : {}),
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
    // The CDN ends once no piece is left for it: its loops stop pulling.
    const cdn: Source = { kind: 'cdn', run: () => o.runCdn(work), stop: async () => wake() }

    await new Promise<void>((resolve, reject) => {
      const settle = () => {
        if (failure !== undefined) return reject(failure)
        if (arrived.size === neededPieces.length) resolve()
      }
      settleSession = settle
      onAbort = () => fail(o.signal!.reason)
      if (o.signal?.aborted) onAbort()
      o.signal?.addEventListener('abort', onAbort, { once: true })
      peers.run().catch(fail)
      cdnRun = cdn.run().then(
        () => settle(),
        (err: unknown) => {
          // Without the CDN the job rests on peers: its pieces go back to them (see `skip`).
          cdnError = err
          atCdn.clear()
          noteCdnBusy()
          claimed.clear()
          peers.askAgain()
          settle()
        },
      )
      const tick = () => {
        const t = now()
        peers.tick(t)
        // Without the CDN, when peers stall too, the job fails with the CDN's error.
        if (cdnError !== undefined && failure === undefined && t - peers.lastBlockAt > o.stallMs) failure = cdnError
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
    if (onAbort) o.signal?.removeEventListener('abort', onAbort)
    wake()
    await cdnRun?.catch(() => undefined)
    await peers.stop()
  }
  return { ...peers.result(), cdnPieces }
}
