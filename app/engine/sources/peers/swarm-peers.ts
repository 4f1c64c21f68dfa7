// What a fetch session sees of a job's peers, whether the swarm runs (peer-source.ts) or a scout
// waits for a first peer (scouted-peers.ts). Types only: importing them loads no webtorrent.
import type { SchedulerInput } from '../../scheduler/cdn-scheduler.ts'
import type { PeerClass } from '../../stats/peer-class.ts'
import type { Source } from '../source.ts'
import type { Refusals } from './refusals.ts'
import type { PiecesInFlight } from './webtorrent-adapter.ts'

/** What the CDN scheduler needs to know of the swarm right now. */
export interface SwarmView {
  /** Connected peers that count as sources (see isPeerSource). */
  readonly sources: number
  /** Per piece, how many sources hold it. */
  readonly availability: ArrayLike<number>
  /** Pieces peers are bringing now. */
  readonly inFlight: PiecesInFlight
  /** Bytes per second from peers, 0 without a source. */
  readonly rate: number
  readonly trackersPending: boolean
  /** Peers known and not connected yet. */
  readonly connecting: number
  /** Connected peers that have not said what they have. */
  readonly silent: number
  /** When the set of peers or what they have last changed. */
  readonly lastChange: number
  /**
   * With Shoal peers connected (they run the same rule) that make progress: this client's member
   * key and those of the peers still missing some of the needed pieces; the LAN's alone when it
   * has any (they share our link to the CDN).
   */
  readonly group: SchedulerInput['group']
  /** The first pieces of this job's own order still to come; only with others in the group, the one use of it. */
  readonly front: ReadonlySet<number> | undefined
}

export interface PeerSourceResult {
  readonly wasted: number
  readonly banned: string[]
  readonly trickled: string[]
  readonly uploaded: Record<PeerClass, number>
  readonly peerRefusals: Refusals
}

/** A job's peers as its fetch session uses them: the swarm itself, or a scout until it has a peer (scouted-peers.ts). */
export interface SwarmPeers extends Source {
  run(): Promise<void>
  view(now: number, needed: readonly number[]): SwarmView
  askAgain(): void
  placedElsewhere(chunks: Iterable<number>): void
  completedElsewhere(piece: number): void
  tick(now: number): void
  readonly lastBlockAt: number
  result(): PeerSourceResult
  stop(): Promise<void>
}
