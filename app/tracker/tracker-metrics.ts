// Operator metrics of the tracker in Prometheus text format, the announce counts behind them,
// and opt-in offload reports from clients. Pure: counts and the clock come in, text comes out.
import * as v from 'valibot'
import type { TrackerSnapshot } from './tracker-store.ts'
import { refusalReasons } from '../release/admission.ts'
import { int, record } from '../../shared/schema-rules.ts'

/** Reasons a peer can be refused admission, and the dials a peer turned away: a closed set of labels. */
export const refusalLabels = [...refusalReasons, 'refused-by-peer'] as const

/** A client's opt-in report of one finished job: bytes by source. */
export const offloadReportSchema = v.strictObject({
  infoHash: v.pipe(v.string(), v.regex(/^[0-9a-f]{40}$/)),
  cdn: int(0),
  lan: int(0),
  wan: int(0),
  /** Peers the job's swarm refused admission (or that refused it), by reason. */
  peerRefusals: v.optional(record(v.picklist(refusalLabels), int(0))),
})
export type OffloadReport = v.InferOutput<typeof offloadReportSchema>

/** Announces are counted in 10-second buckets, shared by all instances through the store. */
export const BUCKET_MS = 10_000
export const RATE_WINDOW_MS = 60_000
export const bucketOf = (now: number) => Math.floor(now / BUCKET_MS)

/** Distinct sites one bucket remembers; more count as "other", so a client cannot grow it. */
export const SITES_PER_BUCKET = 1000

export interface BucketCounts {
  total: number
  readonly sites: Map<string, number>
}

/** Adds one announce from `site` to `buckets` (bucket number → counts). */
export function tally(buckets: Map<number, BucketCounts>, site: string, now: number): void {
  const b = bucketOf(now)
  let counts = buckets.get(b)
  if (!counts) buckets.set(b, (counts = { total: 0, sites: new Map() }))
  counts.total++
  const key = counts.sites.has(site) || counts.sites.size < SITES_PER_BUCKET ? site : 'other'
  counts.sites.set(key, (counts.sites.get(key) ?? 0) + 1)
}

/** The current bucket number and those before it, `windowMs` of buckets in all. */
export function bucketsWithin(now: number, windowMs: number): number[] {
  const last = bucketOf(now)
  const first = bucketOf(now - windowMs) + 1
  return Array.from({ length: last - first + 1 }, (_, i) => first + i)
}

/** Announces per second over the last minute, from per-bucket totals. */
export function announceRate(totals: ReadonlyMap<number, number>, now: number): number {
  return bucketsWithin(now, RATE_WINDOW_MS).reduce((sum, b) => sum + (totals.get(b) ?? 0), 0) / (RATE_WINDOW_MS / 1000)
}

/** Site counts summed over buckets, largest first; beyond `limit` sites they add up under "other". */
export function topSites(perBucket: readonly ReadonlyMap<string, number>[], limit: number): { site: string; peers: number }[] {
  const sum = new Map<string, number>()
  for (const m of perBucket) for (const [site, n] of m) sum.set(site, (sum.get(site) ?? 0) + n)
  const sorted = [...sum].map(([site, peers]) => ({ site, peers })).sort((a, b) => b.peers - a.peers || (a.site < b.site ? -1 : 1))
  const named = sorted.filter((s) => s.site !== 'other').slice(0, limit)
  const rest = sorted.reduce((n, s) => n + s.peers, 0) - named.reduce((n, s) => n + s.peers, 0)
  return rest > 0 ? [...named, { site: 'other', peers: rest }] : named
}

/** Label values are client-chosen: escape what Prometheus' text format reserves. */
const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')

export function renderMetrics(s: TrackerSnapshot): string {
  const lines: string[] = []
  const metric = (name: string, type: string, help: string, values: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...values.map(([labels, v]) => `${name}${labels} ${v}`))
  }
  const bySwarm = (f: (x: TrackerSnapshot['largest'][number]) => number): [string, number][] => s.largest.map((x) => [`{infohash="${x.infoHash}"}`, f(x)])
  metric('shoal_tracker_swarms', 'gauge', 'Swarms (releases) the tracker knows.', [['', s.swarms]])
  metric('shoal_tracker_seeders_all', 'gauge', 'Peers with the whole release, all swarms.', [['', s.seeders]])
  metric('shoal_tracker_leechers_all', 'gauge', 'Peers still downloading, all swarms.', [['', s.leechers]])
  metric('shoal_tracker_seeders', 'gauge', 'Peers with the whole release, for the largest swarms.', bySwarm((x) => x.complete))
  metric('shoal_tracker_leechers', 'gauge', 'Peers still downloading, for the largest swarms.', bySwarm((x) => x.incomplete))
  metric('shoal_tracker_announces_total', 'counter', 'Announces accepted, all instances.', [['', s.announcesTotal]])
  metric('shoal_tracker_announces_per_second', 'gauge', 'Announces per second over the last minute, all instances.', [['', s.announcesPerSecond]])
  metric('shoal_tracker_site_peers', 'gauge', 'Peers that announced within the last interval, by site (subnet when unset).', s.sites.map((x) => [`{site="${label(x.site)}"}`, x.peers]))
  metric('shoal_offload_reports_total', 'counter', 'Jobs that reported their offload (opt-in).', [['', s.reports]])
  metric('shoal_peer_refusals_total', 'counter', 'Peers refused admission to a swarm, as reported by clients, by reason.', refusalLabels.map((r) => [`{reason="${r}"}`, s.peerRefusals[r] ?? 0]))
  metric('shoal_offload_bytes_total', 'counter', 'Bytes reported by clients, by source.', (['cdn', 'lan', 'wan'] as const).map((k) => [`{source="${k}"}`, s.offload[k]]))
  metric(
    'shoal_offload_swarm_bytes_total',
    'counter',
    'Bytes reported by clients, by source, for the largest swarms.',
    s.largest.flatMap((x) => (['cdn', 'lan', 'wan'] as const).map((k): [string, number] => [`{infohash="${x.infoHash}",source="${k}"}`, x.offload[k]])),
  )
  return lines.join('\n') + '\n'
}
