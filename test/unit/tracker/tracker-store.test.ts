import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../../../app/tracker/memory-store.ts'
import { announceRate, renderMetrics, tally, topSites, type BucketCounts } from '../../../app/tracker/tracker-metrics.ts'
import { storeLimits } from '../../../app/tracker/tracker-store.ts'
import type { SwarmPeer } from '../../../app/tracker/matching.ts'

const peer = (n: number, more: Partial<SwarmPeer> = {}): SwarmPeer => ({ peerId: n.toString(16).padStart(40, '0'), ip: `10.0.${n >> 8}.${n & 0xff}`, port: 6881, seeder: false, ...more })
const H = (n: number) => n.toString(16).padStart(40, '0')

describe('memory store', () => {
  it('drops a peer one interval plus the margin after its last announce', async () => {
    const store = new MemoryStore(storeLimits(60_000, 10))
    await store.announce(H(1), peer(1), false, 100, 0)
    await store.announce(H(1), peer(2), false, 100, 100_000)
    const seen = await store.announce(H(1), peer(3), false, 100, 120_000)
    expect(seen.ok && seen.swarm.candidates.map((p) => p.peerId)).toEqual([peer(2).peerId])
    const gone = await store.announce(H(1), peer(3), true, 100, 120_001)
    expect(gone.ok && [gone.swarm.incomplete, gone.swarm.candidates]).toEqual([1, []])
  })

  it('samples a bounded number of others from a large swarm', async () => {
    const store = new MemoryStore(storeLimits(60_000, 10))
    for (let i = 0; i < 500; i++) await store.announce(H(1), peer(i, { seeder: i % 2 === 0 }), false, 100, 0)
    const a = await store.announce(H(1), peer(7), false, 100, 1)
    expect(a.ok && [a.swarm.complete, a.swarm.incomplete, a.swarm.candidates.length]).toEqual([250, 250, 100])
    expect(a.ok && a.swarm.candidates.some((p) => p.peerId === peer(7).peerId)).toBe(false)
  })

  it('refuses a swarm beyond the cap until an old one has emptied', async () => {
    const store = new MemoryStore(storeLimits(60_000, 2))
    await store.announce(H(1), peer(1), false, 100, 0)
    await store.announce(H(2), peer(1), false, 100, 0)
    expect(await store.announce(H(3), peer(1), false, 100, 1)).toEqual({ ok: false, reason: 'swarm limit reached (2): this tracker serves no new releases now' })
    expect((await store.announce(H(3), peer(1), false, 100, 120_001)).ok).toBe(true)
  })
})

describe('tracker metrics', () => {
  it('counts announces per 10-s bucket and sites, bounded', () => {
    const buckets = new Map<number, BucketCounts>()
    for (let i = 0; i < 1200; i++) tally(buckets, `site-${i}`, 5_000)
    tally(buckets, 'site-1', 15_000)
    expect(buckets.get(0)!.sites.size).toBe(1001)
    expect(buckets.get(0)!.sites.get('other')).toBe(200)
    const totals = new Map([...buckets].map(([b, c]) => [b, c.total]))
    expect(announceRate(totals, 15_000)).toBeCloseTo(1201 / 60)
    expect(announceRate(totals, 65_000)).toBeCloseTo(1 / 60)
    expect(announceRate(totals, 75_000)).toBe(0)
    const top = topSites([...buckets.values()].map((b) => b.sites), 2)
    expect(top).toEqual([{ site: 'site-1', peers: 2 }, { site: 'site-0', peers: 1 }, { site: 'other', peers: 1199 - 1 }])
  })

  it('escapes client-chosen label values', () => {
    const text = renderMetrics({ swarms: 0, seeders: 0, leechers: 0, largest: [], announcesTotal: 0, announcesPerSecond: 0, sites: [{ site: 'a"b\\c', peers: 1 }], reports: 0, offload: { cdn: 0, lan: 0, wan: 0 }, peerRefusals: { revoked: 2 } })
    expect(text).toContain('shoal_tracker_site_peers{site="a\\"b\\\\c"} 1')
    // Refusal reasons are a closed set of labels, each shown, reported or not.
    expect(text).toContain('shoal_peer_refusals_total{reason="revoked"} 2')
    expect(text).toContain('shoal_peer_refusals_total{reason="expired"} 0')
  })
})
