// The Redis store's expiry wheel and its sample versions, on a real redis-server, with the
// clock passed in: peers drop one TTL (plus at most a slot) after their last announce, those
// that announced again stay, and an instance's held sample is never staler than the swarm.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SwarmPeer } from '../../app/tracker/matching.ts'
import { RedisStore } from '../../app/tracker/redis-store.ts'
import { SLOT_MS } from '../../app/tracker/redis-scripts.ts'
import { storeLimits } from '../../app/tracker/tracker-store.ts'
import { startRedis, type TestRedis } from '../support/redis-server.ts'

let redis: TestRedis
const stores: RedisStore[] = []
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()))
  await redis.dispose()
})

async function store(db: number): Promise<RedisStore> {
  // 60-s interval: a peer stays 120 s after its last announce.
  const s = new RedisStore({ kind: 'single', url: `${redis.url}/${db}`, where: 'test redis' }, storeLimits(60_000, 100))
  stores.push(s)
  expect(await s.ready(3000)).toBeUndefined()
  return s
}

const peer = (n: number, more: Partial<SwarmPeer> = {}): SwarmPeer => ({ peerId: n.toString(16).padStart(40, '0'), ip: `10.0.0.${n}`, port: 6881, seeder: false, ...more })
const H = 'ab'.repeat(20)
const T0 = 1_800_000_000_000
const S = 1000

async function view(s: RedisStore, p: SwarmPeer, at: number) {
  const a = await s.announce(H, p, false, 100, at)
  if (!a.ok) throw new Error(a.reason)
  return { count: a.swarm.complete + a.swarm.incomplete, others: a.swarm.candidates.map((c) => c.peerId).filter((id) => id !== p.peerId).sort() }
}

describe('redis store', () => {
  it('drops a peer one TTL after its last announce, and keeps one that announced since', async () => {
    const s = await store(1)
    await view(s, peer(1), T0)
    await view(s, peer(2), T0 + 100 * S)
    // Past p1's TTL it is never handed out, even before the sweep has reached its slot.
    expect((await view(s, peer(3), T0 + 121 * S)).others).toEqual([peer(2).peerId])
    // Once its slot is past, it is gone from the counts too.
    expect(await view(s, peer(3), T0 + 121 * S + SLOT_MS + S)).toEqual({ count: 2, others: [peer(2).peerId] })
    // p2 announces again; at its first TTL it stays, refiled under its new expiry.
    await view(s, peer(2), T0 + 200 * S)
    expect(await view(s, peer(4), T0 + 220 * S + 2 * SLOT_MS)).toEqual({ count: 3, others: [peer(2), peer(3)].map((p) => p.peerId) })
    // p3 (last seen at 131 s) is gone by 300 s; p2 (200 s) is not.
    expect(await view(s, peer(4), T0 + 300 * S)).toEqual({ count: 2, others: [peer(2).peerId] })
  })

  it('hands one instance what another changed at once, and a stopped peer leaves', async () => {
    const [a, b] = [await store(2), await store(2)]
    await view(a, peer(1), T0)
    expect((await view(a, peer(2), T0)).others).toEqual([peer(1).peerId])
    // a now holds the swarm's sample; b adds a peer and changes another's capabilities.
    await view(b, peer(3), T0 + S)
    await view(b, peer(1, { spare: 0 }), T0 + S)
    const seen = await a.announce(H, peer(2), false, 100, T0 + 2 * S)
    expect(seen.ok && seen.swarm.candidates.map((c) => [c.peerId, c.spare])).toEqual(expect.arrayContaining([[peer(3).peerId, undefined], [peer(1).peerId, 0]]))
    await b.announce(H, peer(3), true, 100, T0 + 3 * S)
    expect(await view(a, peer(2), T0 + 4 * S)).toEqual({ count: 2, others: [peer(1).peerId] })
  })

  it('does not drop a peer that announced again without a change, whichever instance it went to', async () => {
    const [a, b] = [await store(3), await store(3)]
    await view(a, peer(1), T0)
    await view(a, peer(2), T0)
    await view(b, peer(1), T0 + 100 * S)
    await view(a, peer(2), T0 + 100 * S)
    // a held p1's first expiry (121 s); p1 is listed until 221 s.
    expect(await view(a, peer(2), T0 + 130 * S)).toEqual({ count: 2, others: [peer(1).peerId] })
  })

  it('brings a sample a few changes behind up to date, and one far behind too', async () => {
    const [a, b] = [await store(4), await store(4)]
    await view(a, peer(1), T0)
    await view(a, peer(2), T0)
    // Behind by a few changes (within the change log): added, stopped, changed.
    for (const n of [3, 4, 5]) await view(b, peer(n), T0 + S)
    await b.announce(H, peer(1), true, 100, T0 + S)
    await view(b, peer(3, { seeder: true }), T0 + S)
    const seen = await a.announce(H, peer(2), false, 100, T0 + 2 * S)
    expect(seen.ok && seen.swarm.candidates.map((c) => [c.peerId, c.seeder]).sort()).toEqual([[peer(2).peerId, false], [peer(3).peerId, true], [peer(4).peerId, false], [peer(5).peerId, false]])
    // Behind by more than the change log holds.
    for (let n = 10; n < 60; n++) await view(b, peer(n), T0 + 3 * S)
    expect((await view(a, peer(2), T0 + 4 * S)).others).toHaveLength(53)
  })
})
