// Where a tracker keeps its swarms: in its own memory (one process) or in Redis (any number of
// stateless instances). The HTTP front talks only to this interface.
import type { SwarmPeer } from './matching.ts'
import type { ScrapeCounts } from './announce-response.ts'
import type { OffloadReport } from './tracker-metrics.ts'

export interface StoreLimits {
  /** How often clients are told to announce. */
  readonly intervalMs: number
  /** How long a peer stays listed after its last announce: the announce interval plus a margin. */
  readonly peerTtlMs: number
  /** Most swarms at once; an announce that would start one more is refused (issue 18, item 9). */
  readonly maxSwarms: number
}

export const DEFAULT_INTERVAL_MS = 600_000
export const DEFAULT_MAX_SWARMS = 10_000

/** A peer stays listed for one interval plus a margin of up to a minute, so one late announce does not drop it. */
export function storeLimits(intervalMs: number, maxSwarms: number): StoreLimits {
  return { intervalMs, peerTtlMs: intervalMs + Math.min(intervalMs, 60_000), maxSwarms }
}

/** The swarm after an announce: its sizes and a sample of its peers to match from (it may hold the requester: the matching leaves it out). */
export interface SwarmView {
  readonly complete: number
  readonly incomplete: number
  readonly candidates: readonly SwarmPeer[]
}

export type StoreAnswer = { readonly ok: true; readonly swarm: SwarmView } | { readonly ok: false; readonly reason: string }

export interface OffloadBytes {
  readonly cdn: number
  readonly lan: number
  readonly wan: number
}

export interface SwarmSummary extends ScrapeCounts {
  readonly offload: OffloadBytes
}

/** What /metrics shows, the same whichever store and however many instances. */
export interface TrackerSnapshot {
  readonly swarms: number
  readonly seeders: number
  readonly leechers: number
  /** The largest swarms only, so the number of label values stays bounded. */
  readonly largest: readonly SwarmSummary[]
  readonly announcesTotal: number
  readonly announcesPerSecond: number
  /** Peers that announced within the last interval, by site (largest first, bounded). */
  readonly sites: readonly { readonly site: string; readonly peers: number }[]
  readonly reports: number
  readonly offload: OffloadBytes
  /** Admission refusals clients reported, by reason (refusalLabels). */
  readonly peerRefusals: Readonly<Record<string, number>>
}

export interface TrackerStore {
  /**
   * Records the peer, or removes it when `stopped`, and returns the swarm with a sample of
   * about `sample` peers. Rejects when the store cannot be reached.
   */
  announce(infoHash: string, peer: SwarmPeer, stopped: boolean, sample: number, now: number): Promise<StoreAnswer>
  scrape(infoHashes: readonly string[], now: number): Promise<ScrapeCounts[]>
  report(r: OffloadReport, now: number): Promise<void>
  snapshot(now: number): Promise<TrackerSnapshot>
  close(): Promise<void>
}

/** How many swarms and sites /metrics names one by one. */
export const LABELLED_SWARMS = 50
export const LABELLED_SITES = 50
