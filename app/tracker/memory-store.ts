// The default store: swarms in this process's memory, for one tracker instance.
import { siteOf, type SwarmPeer } from './matching.ts'
import type { ScrapeCounts } from './announce-response.ts'
import { announceRate, bucketOf, bucketsWithin, tally, topSites, type BucketCounts, type OffloadReport } from './tracker-metrics.ts'
import { LABELLED_SITES, LABELLED_SWARMS, type OffloadBytes, type StoreAnswer, type StoreLimits, type TrackerSnapshot, type TrackerStore } from './tracker-store.ts'

interface Entry {
  peer: SwarmPeer
  expires: number
  /** Position in `Swarm.list`, for O(1) removal and sampling. */
  at: number
}

class Swarm {
  /** Every entry, in no order. */
  readonly list: Entry[] = []
  /** In expiry order: every announce moves its peer to the end, as all get the same TTL. */
  readonly entries = new Map<string, Entry>()
  seeders = 0
  offload = { cdn: 0, lan: 0, wan: 0 }

  put(peer: SwarmPeer, expires: number): void {
    const old = this.entries.get(peer.peerId)
    if (old) {
      this.seeders += Number(peer.seeder) - Number(old.peer.seeder)
      old.peer = peer
      old.expires = expires
      this.entries.delete(peer.peerId)
      this.entries.set(peer.peerId, old)
      return
    }
    const entry = { peer, expires, at: this.list.length }
    this.entries.set(peer.peerId, entry)
    this.list.push(entry)
    this.seeders += Number(peer.seeder)
  }

  remove(peerId: string): void {
    const e = this.entries.get(peerId)
    if (!e) return
    const last = this.list.pop()!
    if (last !== e) {
      this.list[e.at] = last
      last.at = e.at
    }
    this.entries.delete(peerId)
    this.seeders -= Number(e.peer.seeder)
  }

  /** Drops expired peers: the oldest first, stopping at the first one still listed. */
  prune(now: number): void {
    for (const [id, e] of this.entries) {
      if (e.expires > now) return
      this.remove(id)
    }
  }

  /** Up to `n` peers other than `self`, a uniform sample when there are more. */
  sample(self: string, n: number, random: () => number): SwarmPeer[] {
    const out: SwarmPeer[] = []
    const mine = this.entries.get(self)
    if (this.list.length <= n + 1) {
      for (const e of this.list) if (e !== mine) out.push(e.peer)
      return out
    }
    const picked = new Set<number>()
    while (picked.size < n) {
      const at = Math.floor(random() * this.list.length)
      if (this.list[at] !== mine) picked.add(at)
    }
    for (const at of picked) out.push(this.list[at]!.peer)
    return out
  }

  counts(infoHash: string): ScrapeCounts {
    return { infoHash, complete: this.seeders, incomplete: this.entries.size - this.seeders }
  }
}

export class MemoryStore implements TrackerStore {
  private readonly swarms = new Map<string, Swarm>()
  private readonly buckets = new Map<number, BucketCounts>()
  private announces = 0
  private reports = 0
  private readonly offload = { cdn: 0, lan: 0, wan: 0 }
  private readonly refusals: Record<string, number> = {}
  /** The bucket old buckets were last dropped at: once per bucket is enough. */
  private droppedAt = -1

  private readonly limits: StoreLimits
  private readonly random: () => number

  constructor(limits: StoreLimits, random: () => number = Math.random) {
    this.limits = limits
    this.random = random
  }

  announce(infoHash: string, peer: SwarmPeer, stopped: boolean, sample: number, now: number): Promise<StoreAnswer> {
    let swarm = this.swarms.get(infoHash)
    if (!swarm) {
      if (stopped) return Promise.resolve({ ok: true, swarm: { complete: 0, incomplete: 0, candidates: [] } })
      if (this.swarms.size >= this.limits.maxSwarms) this.sweep(now)
      if (this.swarms.size >= this.limits.maxSwarms) return Promise.resolve({ ok: false, reason: `swarm limit reached (${this.limits.maxSwarms}): this tracker serves no new releases now` })
      this.swarms.set(infoHash, (swarm = new Swarm()))
    }
    swarm.prune(now)
    this.announces++
    tally(this.buckets, siteOf(peer), now)
    this.dropOldBuckets(now)
    if (stopped) swarm.remove(peer.peerId)
    else swarm.put(peer, now + this.limits.peerTtlMs)
    const { complete, incomplete } = swarm.counts(infoHash)
    return Promise.resolve({ ok: true, swarm: { complete, incomplete, candidates: stopped ? [] : swarm.sample(peer.peerId, sample, this.random) } })
  }

  scrape(infoHashes: readonly string[], now: number): Promise<ScrapeCounts[]> {
    return Promise.resolve(
      infoHashes.map((h) => {
        const swarm = this.swarms.get(h)
        swarm?.prune(now)
        return swarm ? swarm.counts(h) : { infoHash: h, complete: 0, incomplete: 0 }
      }),
    )
  }

  report(r: OffloadReport): Promise<void> {
    this.reports++
    const swarm = this.swarms.get(r.infoHash)
    for (const k of ['cdn', 'lan', 'wan'] as const) {
      this.offload[k] += r[k]
      if (swarm) swarm.offload[k] += r[k]
    }
    for (const [reason, n] of Object.entries(r.peerRefusals ?? {})) this.refusals[reason] = (this.refusals[reason] ?? 0) + n
    return Promise.resolve()
  }

  snapshot(now: number): Promise<TrackerSnapshot> {
    this.sweep(now)
    this.dropOldBuckets(now)
    const all = [...this.swarms].map(([h, s]) => ({ ...s.counts(h), offload: { ...s.offload } as OffloadBytes }))
    const totals = new Map([...this.buckets].map(([b, c]) => [b, c.total]))
    const recent = bucketsWithin(now, this.limits.intervalMs).flatMap((b) => this.buckets.get(b)?.sites ?? [])
    return Promise.resolve({
      swarms: all.length,
      seeders: all.reduce((n, s) => n + s.complete, 0),
      leechers: all.reduce((n, s) => n + s.incomplete, 0),
      largest: all.sort((a, b) => b.complete + b.incomplete - (a.complete + a.incomplete)).slice(0, LABELLED_SWARMS),
      announcesTotal: this.announces,
      announcesPerSecond: announceRate(totals, now),
      sites: topSites(recent, LABELLED_SITES),
      reports: this.reports,
      offload: { ...this.offload },
      peerRefusals: { ...this.refusals },
    })
  }

  close(): Promise<void> {
    return Promise.resolve()
  }

  /** Drops expired peers everywhere, and swarms left empty. */
  private sweep(now: number): void {
    for (const [h, s] of this.swarms) {
      s.prune(now)
      if (s.entries.size === 0) this.swarms.delete(h)
    }
  }

  private dropOldBuckets(now: number): void {
    if (bucketOf(now) === this.droppedAt) return
    this.droppedAt = bucketOf(now)
    const oldest = bucketOf(now - Math.max(this.limits.peerTtlMs, 60_000))
    for (const b of this.buckets.keys()) if (b < oldest) this.buckets.delete(b)
  }
}
