// Pure: which pieces the CDN may serve right now. Peers are the first choice; the CDN
// fills what they cannot: pieces no connected peer has, enough pieces to hold a target
// rate or a finish-time bound when peers fall behind it, and the last pieces (endgame).
// Everything here is a function of its inputs and the clock, so the swarm, the bench and
// the simulator (test/sim/) share it.

import type { FinishBound } from '../../policy/finish-bound.ts'
import { owns } from './piece-owner.ts'

export type { FinishBound }

export interface SchedulerInput {
  /** Milliseconds; only differences matter. */
  readonly now: number
  readonly startedAt: number
  readonly pieceLength: number
  /** Pieces not yet verified, in the order the download wants them. */
  readonly needed: readonly number[]
  /**
   * How many pieces are not yet verified, when `needed` lists only the first of them (the
   * simulator passes a window so that a decision costs O(window), not O(release)).
   */
  readonly piecesLeft?: number
  /** For each piece, how many connected peers have it. */
  readonly availability: ArrayLike<number>
  /** Pieces requested from peers and not yet in. */
  readonly fromPeers: ReadonlySet<number>
  /** Pieces requested from the CDN and not yet in. */
  readonly fromCdn: ReadonlySet<number>
  /** Bytes verified so far, from every source. */
  readonly bytesDone: number
  /** Recent download rate from peers, bytes per second. */
  readonly peerRate: number
  /** The rate the job should hold, bytes per second; 0 means no target. */
  readonly targetRate: number
  /** Bytes the CDN may still serve to this job (policy); Infinity when unlimited. */
  readonly cdnBudget: number
  /** Most pieces the CDN source works on at once. */
  readonly maxCdnPieces: number
  /** Pieces left at which every remaining piece may also go to the CDN. */
  readonly endgamePieces: number
  /** How far ahead (ms) a rate gap is planned for. */
  readonly horizonMs: number
  /** When the job must be done, if it has no target rate; none: the CDN covers only what peers cannot. */
  readonly finishBound?: FinishBound
  /** The CDN's measured rate for this client, bytes per second; 0 while unknown. */
  readonly cdnRate?: number
  /**
   * The most the CDN may bring now, bytes per second (a capped download's CDN share, cap-split.ts);
   * undefined: its measured rate. A slip bound's shortfall is weighed against what the CDN can add;
   * a deadline hours away (background) is not, its CDN rate being LEDBAT's, which yields for a while.
   */
  readonly cdnRoom?: number
  /**
   * The connected peers that follow this same rule (Shoal peers still downloading): its own
   * memberKey and theirs. A piece no peer has comes from the CDN to its owner alone
   * (piece-owner.ts); the others fetch it from the owner, unless the finish bound needs it sooner.
   * `sharedLink`: the members sit behind this client's link to the CDN (a site's LAN).
   */
  readonly group?: { readonly self: number; readonly others: readonly number[]; readonly sharedLink: boolean }
  /**
   * The pieces this client asks peers for next: the first of its own order (each client has its
   * own). In a group, a piece no peer has goes to the CDN only once it is among them, or while no
   * peer brings this client anything: until then another member's copy may reach it first.
   * Undefined: every piece is due.
   */
  readonly front?: ReadonlySet<number>
}

/** The least share of the CDN's rate a finish-bound shortfall must need before the CDN takes it on. */
const MIN_CDN_SHARE = 0.5

export type CdnReason = 'no-peer' | 'behind-target' | 'endgame' | 'finish-bound' | 'probe'

export function noCdnPieces(): Record<CdnReason, number> {
  return { 'no-peer': 0, 'behind-target': 0, endgame: 0, 'finish-bound': 0, probe: 0 }
}

/** The time (ms) by which the job must finish, or undefined while the CDN's rate is unknown. */
export function finishDeadline(bound: FinishBound, startedAt: number, jobBytes: number, cdnRate: number): number | undefined {
  if ('withinMs' in bound) return startedAt + bound.withinMs
  return cdnRate > 0 ? startedAt + ((1 + bound.slip) * jobBytes * 1000) / cdnRate : undefined
}

export interface CdnAssignment {
  readonly piece: number
  readonly reason: CdnReason
}

/** Pieces to request from the CDN now, most urgent first; never more than the free slots and the budget allow. */
export function scheduleCdn(s: SchedulerInput): CdnAssignment[] {
  let slots = s.maxCdnPieces - s.fromCdn.size
  let budget = s.cdnBudget
  const out: CdnAssignment[] = []
  const taken = new Set<number>()
  const take = (piece: number, reason: CdnReason): boolean => {
    if (slots <= 0 || budget < s.pieceLength) return false
    if (taken.has(piece) || s.fromCdn.has(piece)) return true
    out.push({ piece, reason })
    taken.add(piece)
    slots--
    budget -= s.pieceLength
    return true
  }
  const open = s.needed.filter((p) => !s.fromCdn.has(p))

  // 1. What no connected peer has can only come from the CDN; in a group, to its owner alone, and
  //    only once the owner is about to need it. When a swarm starts from the CDN alone, each
  //    neighbourhood's owner of a piece fetching it at once brought in 42 copies of the release,
  //    one per neighbourhood; waiting until it is due, 1.55 (the simulator's flash crowd: 2,000
  //    clients, no seeder, --finish-slip off; 117 with no group).
  const group = s.group
  const mine = (p: number) => group === undefined || owns(p, group.self, group.others)
  const due = (p: number) => group === undefined || group.others.length === 0 || s.front === undefined || s.fromPeers.size === 0 || s.front.has(p)
  for (const p of open) if ((s.availability[p] ?? 0) === 0 && mine(p) && due(p) && !take(p, 'no-peer')) return out

  // 2. Endgame, when the job has a target rate: at that rate the job has a deadline. In the
  //    tail (no more pieces left than the CDN carries at once), when peers at their current
  //    rate cannot bring what is left before it, the CDN takes the rest, pieces peers are
  //    fetching included. A fast peer finishes the tail without CDN bytes. A finish-time bound
  //    has its own tail (3); with neither, slow is fine: offload comes first, and peers that
  //    deliver nothing are handled as absent by the caller. The peer rate means something
  //    only after one horizon of the job.
  const openCount = s.piecesLeft === undefined ? open.length : s.piecesLeft - s.fromCdn.size
  const remaining = openCount * s.pieceLength
  const rateKnown = s.now - s.startedAt >= s.horizonMs
  const tail = openCount <= Math.max(s.endgamePieces, s.maxCdnPieces)
  if (s.targetRate > 0 && rateKnown && tail) {
    const deadline = s.startedAt + ((s.bytesDone + remaining) / s.targetRate) * 1000
    const peersTooSlow = s.peerRate * (Math.max(0, deadline - s.now) / 1000) < remaining
    if (peersTooSlow) {
      for (const p of open) if (!take(p, 'endgame')) return out
      return out
    }
  }

  // 3. A finish-time bound: peers carry what they can by the deadline at their current rate,
  //    the CDN the shortfall, spread over the time left so that peers that speed up later
  //    still take over. Until the CDN's rate is known one piece probes it.
  if (s.targetRate <= 0 && s.finishBound) {
    const cdnRate = s.cdnRate ?? 0
    const deadline = finishDeadline(s.finishBound, s.startedAt, s.bytesDone + (s.piecesLeft ?? s.needed.length) * s.pieceLength, cdnRate)
    if (deadline === undefined) {
      // Behind a shared link the pieces it owns measure the CDN; a probe would be one more copy over the link.
      if (s.fromCdn.size + taken.size === 0 && group?.sharedLink !== true) for (const p of open) if (take(p, 'probe')) break
      return out
    }
    if (!rateKnown) return out
    const secondsLeft = (deadline - s.now) / 1000
    const shortfall = remaining - s.peerRate * Math.max(0, secondsLeft)
    if (shortfall <= 0) return out
    // In the tail the CDN takes the rest, pieces peers are fetching included (as with a target).
    if (tail) {
      for (const p of open) if (!take(p, 'endgame')) return out
      return out
    }
    // The shortfall's share of what the CDN can add sets its share of the slots; when late, all of
    // them. A small share waits: the peer rate is a lagging average, and peers that speed up take
    // it over. At half the CDN's rate there is still room to catch up (measured in the simulator:
    // a third fewer CDN bytes, the same finish times). Under a cap the CDN adds only its share of
    // the cap, so the shortfall is weighed against that (flash crowd: each client's p99 over its
    // CDN-only time 1.28 -> 1.22, CDN bytes +4 %).
    const room = 'slip' in s.finishBound ? Math.min(cdnRate, s.cdnRoom ?? Infinity) : cdnRate
    const share = secondsLeft > 0 && room > 0 ? shortfall / secondsLeft / room : 1
    if (share < MIN_CDN_SHARE) return out
    let pieces = Math.min(Math.ceil(share * s.maxCdnPieces), Math.ceil(shortfall / s.pieceLength)) - (s.fromCdn.size + taken.size)
    // The group's owners bring their pieces in anyway: the shortfall takes this client's own first.
    const candidates = rarestFirst(open.filter((q) => !s.fromPeers.has(q) && !taken.has(q)), s.availability)
    // Owners are only looked up when the shortfall leaves some candidates out (a lookup hashes every member).
    const ordered = group === undefined || Math.min(pieces, slots) >= candidates.length ? candidates : ownFirst(candidates, mine)
    for (const p of ordered) {
      if (pieces-- <= 0 || !take(p, 'finish-bound')) break
    }
    return out
  }

  // 4. Behind the target rate: the CDN covers the gap over the horizon, on the pieces
  //    peers are least likely to deliver soon (rarest, not already requested from a peer).
  if (s.targetRate > 0) {
    const elapsed = Math.max(0, s.now - s.startedAt) / 1000
    const behind = s.targetRate * elapsed - s.bytesDone
    const gapRate = Math.max(0, s.targetRate - s.peerRate)
    const wantBytes = Math.max(behind, 0) + (gapRate * s.horizonMs) / 1000
    let pieces = Math.ceil(wantBytes / s.pieceLength) - (s.fromCdn.size + taken.size)
    if (pieces > 0) {
      const candidates = rarestFirst(open.filter((p) => !s.fromPeers.has(p) && !taken.has(p)), s.availability)
      for (const p of candidates) {
        if (pieces-- <= 0 || !take(p, 'behind-target')) break
      }
    }
  }
  return out
}

/** `pieces` with the ones `mine` accepts first, each asked once; the order is kept within both. */
function ownFirst(pieces: readonly number[], mine: (p: number) => boolean): number[] {
  const own: number[] = []
  const others: number[] = []
  for (const p of pieces) (mine(p) ? own : others).push(p)
  return own.concat(others)
}

function rarestFirst(pieces: number[], availability: ArrayLike<number>): number[] {
  return pieces.sort((a, b) => (availability[a] ?? 0) - (availability[b] ?? 0))
}

/** How long a peer that holds pieces and chokes us still counts as a source: stock clients unchoke every 10 s, and optimistically every 30 s. */
export const CHOKED_PATIENCE_MS = 30_000

/**
 * Whether a connected peer counts as a source of the pieces it has. One that unchoked us (or
 * connected) and then sent no block for `stallMs` is gone; one that chokes us is waited for,
 * through a few of the unchoke rounds stock clients run, and no longer.
 */
export function isPeerSource(peer: { readonly choking: boolean; readonly activeAt: number }, now: number, stallMs: number): boolean {
  return now - peer.activeAt <= (peer.choking ? Math.max(stallMs, CHOKED_PATIENCE_MS) : stallMs)
}

export interface DiscoveryInput {
  readonly now: number
  readonly startedAt: number
  /** Longest wait for a first tracker answer. */
  readonly discoveryMs: number
  /** Whether the job has trackers and none has answered yet. */
  readonly trackersPending: boolean
  /** Peers known and not connected yet (being dialled, in handshake): each may wait up to discoveryMs. */
  readonly peersConnecting: number
  /** Connected peers that have not said what they have yet: each may wait up to settleMs. */
  readonly peersSilent: number
  /** When the set of peers or what they have last changed. */
  readonly lastPeerChange: number
  /** How long a connected peer may take to send what it has. */
  readonly settleMs: number
}

/**
 * Until peers have said what they have, every piece looks like one no peer has. The CDN holds
 * back only while that can still change soon: a tracker has not answered yet, or known peers
 * have not connected or sent their bitfields. With no tracker and no peer in sight (LAN discovery alone, or a
 * tracker that answered with nobody), it starts at once; peers found later take over the rest.
 */
export function discoveryPending(s: DiscoveryInput): boolean {
  if (s.trackersPending && s.now - s.startedAt < s.discoveryMs) return true
  const quiet = s.now - s.lastPeerChange
  return (s.peersConnecting > 0 && quiet < s.discoveryMs) || (s.peersSilent > 0 && quiet < s.settleMs)
}
