import { describe, expect, it } from 'vitest'
import { isPrivateAddress, sameSubnet } from '../../../app/net/address-scope.ts'
import { matchPeers, siteOf, tier, type SwarmPeer } from '../../../app/tracker/matching.ts'

/** A seeded generator, so every run draws the same numbers. */
function seeded(seed: number): () => number {
  let x = seed + 1
  return () => (x = (x * 16807) % 2147483647) / 2147483647
}

let next = 0
const peer = (ip: string, more: Partial<SwarmPeer> = {}): SwarmPeer => ({ peerId: (next++).toString(16).padStart(40, '0'), ip, port: 6881, seeder: true, ...more })
const leecher = (ip: string, more: Partial<SwarmPeer> = {}) => peer(ip, { seeder: false, ...more })

describe('matching', () => {
  it('knows subnets and private ranges', () => {
    expect(sameSubnet('192.168.1.10', '192.168.1.200')).toBe(true)
    expect(sameSubnet('192.168.1.10', '192.168.2.10')).toBe(false)
    expect(sameSubnet('fd00:1:2:3::1', 'fd00:1:2:3:ffff::9')).toBe(true)
    expect(sameSubnet('fd00:1:2:3::1', 'fd00:1:2:4::1')).toBe(false)
    expect(sameSubnet('10.0.0.1', 'fd00::1')).toBe(false)
    expect(['10.1.2.3', '172.20.0.1', '192.168.0.1', '127.0.0.1', 'fd12::1', 'fe80::1'].every(isPrivateAddress)).toBe(true)
    expect(['8.8.8.8', '172.32.0.1', '2001:db8::1'].some(isPrivateAddress)).toBe(false)
  })

  it('tiers: same site, then same subnet, then private ranges, then the rest', () => {
    const me = leecher('10.0.0.5', { site: 'berlin' })
    expect(tier(me, peer('203.0.113.9', { site: 'berlin' }))).toBe(0)
    expect(tier(me, peer('10.0.0.9'))).toBe(1)
    expect(tier(me, peer('10.0.0.9', { site: 'paris' }))).toBe(1)
    expect(tier(me, peer('192.168.3.4'))).toBe(2)
    expect(tier(me, peer('8.8.8.8'))).toBe(3)
    // Without site ids, the subnet is the site.
    expect(tier(leecher('10.0.0.5'), peer('10.0.0.9'))).toBe(0)
    expect(siteOf({ ip: '10.0.0.5', site: undefined })).toBe('10.0.0.0/24')
    expect(siteOf({ ip: 'fd00:1:2:3::1', site: undefined })).toBe('fd00:0001:0002:0003::/64')
    expect(siteOf({ ip: '10.0.0.5', site: 'berlin' })).toBe('berlin')
  })

  it('hands out the nearest tier first even when there are more peers than asked for', () => {
    const me = leecher('10.0.0.5', { site: 'berlin' })
    const far = Array.from({ length: 50 }, (_, i) => peer(`203.0.113.${i}`))
    const site = peer('198.51.100.7', { site: 'berlin' })
    const subnet = peer('10.0.0.8')
    const priv = peer('10.9.9.9')
    for (let seed = 0; seed < 20; seed++) {
      const picked = matchPeers(me, [...far, priv, subnet, site], 5, seeded(seed))
      expect(picked.slice(0, 3)).toEqual([site, subnet, priv])
      expect(picked).toHaveLength(5)
    }
  })

  it('never hands a peer itself, by peer id: colleagues behind one NAT address get each other', () => {
    const me = leecher('198.51.100.1')
    const colleague = peer('198.51.100.1')
    const picked = matchPeers(me, [me, colleague], 10, seeded(1))
    expect(picked).toEqual([colleague])
  })

  it('skips peers at their upload cap, and seeders for a seeder', () => {
    const full = peer('10.0.0.2', { spare: 0 })
    const seeder = peer('10.0.0.3')
    const other = leecher('10.0.0.4')
    expect(matchPeers(leecher('10.0.0.1'), [full, seeder, other], 10, seeded(2))).toEqual(expect.arrayContaining([seeder, other]))
    expect(matchPeers(leecher('10.0.0.1'), [full, seeder, other], 10, seeded(2))).not.toContain(full)
    expect(matchPeers(peer('10.0.0.1'), [full, seeder, other], 10, seeded(2))).toEqual([other])
  })

  it('gives an unreachable requester reachable peers first within a tier, a reachable one any order', () => {
    const hidden = Array.from({ length: 10 }, (_, i) => peer(`10.0.0.${10 + i}`, { reachable: false, spare: 10_000_000 }))
    const open = peer('10.0.0.99', { reachable: true, spare: 1000 })
    const unknown = peer('10.0.0.98', { spare: 1000 })
    for (let seed = 0; seed < 20; seed++) {
      const picked = matchPeers(leecher('10.0.0.1', { reachable: false }), [...hidden, open, unknown], 3, seeded(seed))
      expect(picked.slice(0, 2).sort((a, b) => (a.ip < b.ip ? -1 : 1))).toEqual([unknown, open])
    }
    // A reachable requester: spare upload decides, and the hidden peers have far more.
    const firsts = Array.from({ length: 20 }, (_, seed) => matchPeers(leecher('10.0.0.1', { reachable: true }), [...hidden, open, unknown], 1, seeded(seed))[0])
    expect(firsts.filter((p) => p === open || p === unknown).length).toBeLessThan(3)
  })

  it('draws in proportion to spare upload', () => {
    const big = peer('10.0.0.2', { spare: 9_000_000 })
    const small = peer('10.0.0.3', { spare: 1_000_000 })
    const random = seeded(7)
    let bigFirst = 0
    for (let i = 0; i < 2000; i++) if (matchPeers(leecher('10.0.0.1'), [small, big], 2, random)[0] === big) bigFirst++
    // Expected 90 %; the seeded draw lands within a few points of it.
    expect(bigFirst / 2000).toBeGreaterThan(0.85)
    expect(bigFirst / 2000).toBeLessThan(0.95)
  })

  it('shuffles peers of equal weight uniformly, each handed out once', () => {
    const same = Array.from({ length: 5 }, (_, i) => peer(`10.0.0.${10 + i}`))
    const random = seeded(11)
    const first = new Map<SwarmPeer, number>()
    for (let i = 0; i < 5000; i++) {
      const got = matchPeers(leecher('10.0.0.1'), same, 3, random)
      expect(new Set(got).size).toBe(3)
      first.set(got[0]!, (first.get(got[0]!) ?? 0) + 1)
    }
    // Expected 1000 each; the seeded draw lands within a few percent of it.
    for (const p of same) expect(Math.abs((first.get(p) ?? 0) - 1000)).toBeLessThan(100)
  })

  it('gives a machine that names its site no machines of other sites (their bytes would cross both WAN links), but peers with no site', () => {
    const me = leecher('10.1.0.5', { site: 'berlin' })
    const mate = leecher('10.1.0.6', { site: 'berlin' })
    const paris = leecher('10.2.0.6', { site: 'paris' })
    const server = peer('203.0.113.9')
    expect(matchPeers(me, [paris, mate, server], 10, seeded(3))).toEqual([mate, server])
    // Without a site of its own, the requester gets everyone, nearest first.
    expect(matchPeers(leecher('10.1.0.7'), [paris, mate, server], 10, seeded(3))).toHaveLength(3)
  })
})
