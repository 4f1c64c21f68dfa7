// What a simulated deployment is: the release, who joins when, their links, the CDN, the
// tracker and how the client schedules. Every scenario in scenarios.ts is one of these,
// with its seed, so a run is reproducible.
import type { FinishBound } from '../../app/policy/finish-bound.ts'
import type { Dist } from './random.ts'

/** How the client trades CDN bytes for time (the scheduler's modes; cdn-only is the baseline, no peers). */
export type Mode = { readonly kind: 'finish'; readonly bound: FinishBound } | { readonly kind: 'offload' } | { readonly kind: 'target'; readonly rate: number } | { readonly kind: 'cdn-only' }

export interface Sites {
  readonly count: number
  /** Each machine's LAN port, bytes per second, both ways. */
  readonly lanRate: number
  /** The site's shared link to the internet, bytes per second, each way. */
  readonly wanDown: number
  readonly wanUp: number
  /** Everything moving inside the site at once (a loopback machine's CPU); Infinity for a switched LAN. */
  readonly total: number
}

export interface Scenario {
  readonly name: string
  readonly description: string
  readonly seed: number
  readonly releaseBytes: number
  readonly pieceLength: number
  /** Clients that download; they join uniformly over `joinOverMs` (0: all at once), or `joinGapMs` apart. */
  readonly clients: number
  readonly joinOverMs: number
  readonly joinGapMs?: number
  /** Complete peers present from the start that never leave. */
  readonly seeders: number
  readonly seederUp: Dist
  /** Internet clients' links (sites replace them with the LAN port). */
  readonly down: Dist
  readonly up: Dist
  /** The CDN's rate for one client, bytes per second. */
  readonly cdnRate: Dist
  /** Share of client pairs that cannot connect (NAT); pairs in one site always can. */
  readonly blockedPairs: number
  readonly sites?: Sites
  /** Time a finished client keeps seeding before it leaves. */
  readonly seedFor: Dist
  /** Share of clients that leave once mid-way and come back after `pauseFor`. */
  readonly pauseShare: number
  readonly pauseFor: Dist
  readonly numwant: number
  readonly announceIntervalMs: number
  readonly maxPeers: number
  /** Pieces from peers in flight per client (the fetch session's PEER_PIECES_IN_FLIGHT). */
  readonly peerPieces: number
  /** The scheduler's settings, as install-job passes them. */
  readonly maxCdnPieces: number
  readonly endgamePieces: number
  readonly horizonMs: number
  readonly mode: Mode
  /** Step of the rate allocation, and how often an idle CDN decision is looked at again. */
  readonly stepMs: number
  readonly decideEveryMs: number
  /** Timeline sample interval for the chart. */
  readonly sampleMs: number
}
