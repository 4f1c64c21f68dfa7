import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_FINISH_SLIP } from '../../../app/policy/finish-bound.ts'
import { groupMembers, isGroupMember, MEMBER_PATIENCE_MS, memberKey, owns } from '../../../app/engine/scheduler/piece-owner.ts'
import { CHOKED_PATIENCE_MS, discoveryPending, finishDeadline, isPeerSource, scheduleCdn, type DiscoveryInput, type SchedulerInput } from '../../../app/engine/scheduler/cdn-scheduler.ts'

const MiB = 1024 * 1024
const base = (over: Partial<SchedulerInput> = {}): SchedulerInput => ({
  now: 10_000,
  startedAt: 0,
  pieceLength: 4 * MiB,
  needed: Array.from({ length: 100 }, (_, i) => i),
  availability: new Array(100).fill(1),
  fromPeers: new Set(),
  fromCdn: new Set(),
  bytesDone: 0,
  peerRate: 0,
  targetRate: 0,
  cdnBudget: Infinity,
  maxCdnPieces: 8,
  endgamePieces: 4,
  horizonMs: 2000,
  ...over,
})

const keys = (n: number) => Array.from({ length: n }, (_, i) => memberKey(i.toString(16).padStart(40, '0')))

describe('CDN scheduler', () => {
  it('takes nothing while peers have every piece and there is no target', () => {
    expect(scheduleCdn(base({ peerRate: 50 * MiB }))).toEqual([])
  })

  it('takes pieces no peer has, first, up to its free slots', () => {
    const availability = new Array(100).fill(1)
    for (const p of [3, 50, 70]) availability[p] = 0
    const r = scheduleCdn(base({ availability, fromCdn: new Set([90, 91, 92, 93, 94, 95, 96]) }))
    expect(r).toEqual([{ piece: 3, reason: 'no-peer' }])
  })

  it('with no peers at all, the CDN takes everything it can carry', () => {
    const r = scheduleCdn(base({ availability: new Array(100).fill(0) }))
    expect(r.map((a) => a.piece)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(new Set(r.map((a) => a.reason))).toEqual(new Set(['no-peer']))
  })

  it('covers the gap when peers fall behind the target, on the rarest pieces no peer is fetching', () => {
    const availability = new Array(100).fill(3)
    availability[40] = 1
    availability[41] = 1
    // 10 s in at a 40 MB/s target with peers at 10 MB/s: 100 MB behind, and a 30 MB/s gap.
    const r = scheduleCdn(base({ targetRate: 40e6, peerRate: 10e6, bytesDone: 300e6, availability, fromPeers: new Set([40]), maxCdnPieces: 64 }))
    expect(r.length).toBe(Math.ceil((100e6 + 60e6) / (4 * MiB)))
    expect(r[0]).toEqual({ piece: 41, reason: 'behind-target' })
    expect(r.map((a) => a.piece)).not.toContain(40)
  })

  it('takes nothing for the target while peers keep up with it', () => {
    expect(scheduleCdn(base({ targetRate: 40e6, peerRate: 60e6, bytesDone: 500e6 }))).toEqual([])
  })

  it('in the endgame with peers too slow for the target, offers every remaining piece, even ones a peer is fetching', () => {
    // 900 MB done at a 100 MB/s target: the deadline has passed, and the peers are slow.
    const r = scheduleCdn(base({ needed: [97, 98, 99], fromPeers: new Set([98, 99]), peerRate: 1e6, targetRate: 100e6, bytesDone: 900e6 }))
    expect(r).toEqual([97, 98, 99].map((piece) => ({ piece, reason: 'endgame' })))
  })

  it('in the endgame, leaves the last pieces to peers fast enough, and to slow peers when there is no target', () => {
    // 500 MB done at a 40 MB/s target: 2.8 s to the deadline, enough for a 100 MB/s peer.
    expect(scheduleCdn(base({ needed: [97, 98, 99], fromPeers: new Set([98, 99]), peerRate: 100e6, targetRate: 40e6, bytesDone: 500e6 }))).toEqual([])
    expect(scheduleCdn(base({ needed: [97, 98, 99], fromPeers: new Set([98, 99]), peerRate: 1e6 }))).toEqual([])
  })

  it('never exceeds its slots or its budget, and never repeats a piece already at the CDN', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 40 }),
        fc.array(fc.integer({ min: 0, max: 99 }), { maxLength: 10 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 100, maxLength: 100 }),
        fc.integer({ min: 0, max: 100 }),
        (slots, budgetPieces, inCdn, availability, target) => {
          const fromCdn = new Set(inCdn)
          const r = scheduleCdn(base({ maxCdnPieces: slots, cdnBudget: budgetPieces * 4 * MiB, fromCdn, availability, targetRate: target * 1e6 }))
          expect(r.length).toBeLessThanOrEqual(Math.max(0, slots - fromCdn.size))
          expect(r.length).toBeLessThanOrEqual(budgetPieces)
          expect(new Set(r.map((a) => a.piece)).size).toBe(r.length)
          for (const a of r) expect(fromCdn.has(a.piece)).toBe(false)
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('discovery before the CDN starts', () => {
  const at = (over: Partial<DiscoveryInput>): DiscoveryInput => ({ now: 100, startedAt: 0, discoveryMs: 2000, trackersPending: false, peersConnecting: 0, peersSilent: 0, lastPeerChange: 0, settleMs: 500, ...over })

  it('does not wait with no tracker and no peer in sight (LAN discovery alone)', () => {
    expect(discoveryPending(at({}))).toBe(false)
  })

  it('waits for a tracker that has not answered, at most discoveryMs', () => {
    expect(discoveryPending(at({ trackersPending: true, now: 1999 }))).toBe(true)
    expect(discoveryPending(at({ trackersPending: true, now: 2000 }))).toBe(false)
  })

  it('starts once the tracker answered with nobody', () => {
    expect(discoveryPending(at({ trackersPending: false, now: 30 }))).toBe(false)
  })

  it('waits for connected peers to say what they have, at most settleMs after the last change', () => {
    expect(discoveryPending(at({ peersSilent: 1, lastPeerChange: 50, now: 549 }))).toBe(true)
    expect(discoveryPending(at({ peersSilent: 1, lastPeerChange: 50, now: 550 }))).toBe(false)
    expect(discoveryPending(at({ peersSilent: 0, lastPeerChange: 50, now: 60 }))).toBe(false)
  })

  it('waits for peers being dialled, at most discoveryMs after the last change', () => {
    expect(discoveryPending(at({ peersConnecting: 1, lastPeerChange: 0, now: 1999 }))).toBe(true)
    expect(discoveryPending(at({ peersConnecting: 1, lastPeerChange: 0, now: 2000 }))).toBe(false)
  })
})

describe('finish-time bound', () => {
  // 100 pieces of 4 MiB (~419 MB); the CDN alone would take 41.9 s at 10 MB/s, so with a
  // 10 % slip the job must finish by 46.1 s.
  const cdnRate = 10e6
  const jobBytes = 100 * 4 * MiB
  const bound = { slip: DEFAULT_FINISH_SLIP }
  const at = (over: Partial<SchedulerInput>) => base({ finishBound: bound, cdnRate, now: 5_000, ...over })

  it('derives the deadline from the CDN-only estimate, or from a time after the start', () => {
    expect(finishDeadline(bound, 1000, jobBytes, cdnRate)).toBeCloseTo(1000 + (1.1 * jobBytes * 1000) / cdnRate)
    expect(finishDeadline({ withinMs: 7_200_000 }, 1000, jobBytes, cdnRate)).toBe(7_201_000)
    expect(finishDeadline(bound, 1000, jobBytes, 0)).toBeUndefined()
  })

  it('probes the CDN with one piece while its rate is unknown', () => {
    expect(scheduleCdn(at({ cdnRate: 0 }))).toEqual([{ piece: 0, reason: 'probe' }])
    expect(scheduleCdn(at({ cdnRate: 0, fromCdn: new Set([0]) }))).toEqual([])
  })

  it('leaves everything to peers that will finish in time', () => {
    // 419 MB left, 41 s to go: peers at 11 MB/s make it.
    expect(scheduleCdn(at({ peerRate: 11e6 }))).toEqual([])
  })

  it('gives peers one horizon to show their rate', () => {
    expect(scheduleCdn(at({ now: 1_000, peerRate: 0 }))).toEqual([])
  })

  it('takes the shortfall, spread over the time left, on the rarest pieces peers are not fetching', () => {
    const availability = new Array(100).fill(3)
    availability[60] = 1
    // Peers at 5 MB/s bring ~206 MB of the 419 MB in the 41 s left: the CDN needs ~5.2 MB/s of its 10,
    // so about half of its 8 slots.
    const r = scheduleCdn(at({ peerRate: 5e6, availability, fromPeers: new Set([0, 1]) }))
    expect(r.length).toBe(5)
    expect(r[0]).toEqual({ piece: 60, reason: 'finish-bound' })
    expect(r.map((a) => a.piece)).not.toContain(0)
    expect(new Set(r.map((a) => a.reason))).toEqual(new Set(['finish-bound']))
  })

  it('leaves a shortfall that needs less than half the CDN to peers that may still speed up', () => {
    // Peers at 8 MB/s bring ~329 MB of the 419 MB in time: the CDN would need ~2.2 MB/s of its 10.
    expect(scheduleCdn(at({ peerRate: 8e6 }))).toEqual([])
  })

  it('weighs the shortfall against what a capped download leaves the CDN', () => {
    // The same 2.2 MB/s shortfall is more than half of a 4 MB/s CDN share of the cap.
    expect(scheduleCdn(at({ peerRate: 8e6, cdnRoom: 4e6 })).length).toBeGreaterThan(0)
    expect(scheduleCdn(at({ peerRate: 8e6, cdnRoom: 20e6 }))).toEqual([])
  })

  it('weighs a background deadline against the CDN’s rate, not its LEDBAT share of the moment', () => {
    // 419 MB in 3,000 s: peers at 0.1 MB/s leave a shortfall of 0.04 MB/s, twice a 0.02 MB/s LEDBAT
    // share but well under half the CDN's 10 MB/s.
    const background = { finishBound: { withinMs: 3_000_000 }, peerRate: 0.1e6, now: 5_000 }
    expect(scheduleCdn(at({ ...background, cdnRoom: 0.02e6 }))).toEqual([])
  })

  it('takes every slot once the deadline has passed', () => {
    const r = scheduleCdn(at({ now: 60_000, peerRate: 5e6 }))
    expect(r.length).toBe(8)
  })

  it('in the tail, takes the rest when peers cannot bring it in time, pieces peers fetch included', () => {
    const needed = [97, 98, 99]
    const slow = scheduleCdn(at({ now: 45_000, needed, peerRate: 1e6, bytesDone: 97 * 4 * MiB, fromPeers: new Set(needed) }))
    expect(slow).toEqual(needed.map((piece) => ({ piece, reason: 'endgame' })))
    expect(scheduleCdn(at({ now: 40_000, needed, peerRate: 50e6, bytesDone: 97 * 4 * MiB, fromPeers: new Set(needed) }))).toEqual([])
  })

  it('with a deadline hours away (background), waits for slow peers', () => {
    expect(scheduleCdn(at({ finishBound: { withinMs: 4 * 3_600_000 }, peerRate: 100e3 }))).toEqual([])
  })

  it('a target rate takes precedence over the bound', () => {
    const r = scheduleCdn(at({ targetRate: 40e6, peerRate: 1e6, bytesDone: 0 }))
    expect(new Set(r.map((a) => a.reason))).toEqual(new Set(['behind-target']))
  })

  it('a fake clock: peers that slow down hand the CDN more, and it stops once they catch up', () => {
    let bytesDone = 0
    const cdn: number[] = []
    const needed = Array.from({ length: 100 }, (_, i) => i)
    // Peers at 20 MB/s for 10 s, then 2 MB/s for 10 s, then 30 MB/s; the CDN completes its pieces within each second.
    for (let t = 1; t <= 60 && needed.length > 0; t++) {
      const peerRate = t <= 10 ? 20e6 : t <= 20 ? 2e6 : 30e6
      const r = scheduleCdn(at({ now: t * 1000, needed: [...needed], bytesDone, peerRate }))
      cdn.push(r.length)
      for (const a of r) needed.splice(needed.indexOf(a.piece), 1)
      bytesDone += r.length * 4 * MiB
      for (let got = 0; got + 4 * MiB <= peerRate && needed.length > 0; got += 4 * MiB) {
        needed.shift()
        bytesDone += 4 * MiB
      }
    }
    expect(needed).toEqual([])
    expect(cdn.slice(0, 10).every((n) => n === 0)).toBe(true)
    expect(cdn.slice(10, 20).some((n) => n > 0)).toBe(true)
    expect(cdn.slice(22).every((n) => n === 0)).toBe(true)
  })
})

describe('which connected peers are sources', () => {
  // A fake clock: the peer connected (or last unchoked us, or last sent a block) at 1,000 ms.
  const stallMs = 5000
  it('a peer that holds pieces and chokes us is a source before it unchokes, through a few unchoke rounds', () => {
    const choking = { choking: true, activeAt: 1000 }
    expect(isPeerSource(choking, 1000 + 500, stallMs)).toBe(true)
    expect(isPeerSource(choking, 1000 + 10_000, stallMs)).toBe(true)
    expect(isPeerSource(choking, 1000 + CHOKED_PATIENCE_MS, stallMs)).toBe(true)
    expect(isPeerSource(choking, 1000 + CHOKED_PATIENCE_MS + 1, stallMs)).toBe(false)
  })

  it('a peer that unchoked us and then sent nothing for --peer-stall is gone', () => {
    const unchoked = { choking: false, activeAt: 1000 }
    expect(isPeerSource(unchoked, 1000 + stallMs, stallMs)).toBe(true)
    expect(isPeerSource(unchoked, 1000 + stallMs + 1, stallMs)).toBe(false)
  })

  it('a --peer-stall longer than the patience holds for choking peers too', () => {
    expect(isPeerSource({ choking: true, activeAt: 0 }, 60_000, 90_000)).toBe(true)
  })
})

describe('a group: a site behind one link, or the Shoal peers still downloading', () => {
  const group = keys(3)
  const self = group[0]!
  const others = group.slice(1)
  const mine = (p: number) => owns(p, self, others)
  const none = new Array(100).fill(0)

  it('takes from the CDN only the pieces no peer has that it owns; the owners bring the rest', () => {
    const r = scheduleCdn(base({ availability: none, group: { self, others, sharedLink: true }, maxCdnPieces: 100 }))
    expect(r.length).toBeGreaterThan(0)
    expect(r.every((a) => mine(a.piece) && a.reason === 'no-peer')).toBe(true)
    expect(r.length).toBe(Array.from({ length: 100 }, (_, p) => p).filter(mine).length)
    // Alone in its group, it owns everything.
    expect(scheduleCdn(base({ availability: none, group: { self, others: [], sharedLink: true }, maxCdnPieces: 100 }))).toHaveLength(100)
  })

  it('does not probe: its own pieces measure the CDN, and the LAN brings the rest', () => {
    const finishBound = { slip: DEFAULT_FINISH_SLIP }
    expect(scheduleCdn(base({ finishBound, cdnRate: 0, group: { self, others, sharedLink: true } }))).toEqual([])
  })

  it('over the internet (no shared link) it probes the CDN: it may own no piece that measures it', () => {
    const finishBound = { slip: DEFAULT_FINISH_SLIP }
    const all = new Array(100).fill(1)
    expect(scheduleCdn(base({ finishBound, cdnRate: 0, availability: all, group: { self, others, sharedLink: false } }))).toEqual([{ piece: 0, reason: 'probe' }])
  })

  it('waits for a piece no peer has until it is due (among its next pieces), unless peers bring it nothing', () => {
    const owned = Array.from({ length: 100 }, (_, p) => p).filter(mine)
    const front = new Set(owned.slice(0, 2))
    const busy = new Set([99])
    const r = scheduleCdn(base({ availability: none, group: { self, others, sharedLink: false }, front, fromPeers: busy, maxCdnPieces: 100 }))
    expect(r.map((a) => a.piece)).toEqual([...front])
    // Nothing from peers: every piece it owns is due, so the group never waits on itself.
    expect(scheduleCdn(base({ availability: none, group: { self, others, sharedLink: false }, front, maxCdnPieces: 100 }))).toHaveLength(owned.length)
    // With nobody else in the group still downloading, there is nobody to wait for.
    expect(scheduleCdn(base({ availability: none, group: { self, others: [], sharedLink: false }, front, fromPeers: busy, maxCdnPieces: 100 }))).toHaveLength(100)
    // With no group, whatever no peer has is due at once.
    expect(scheduleCdn(base({ availability: none, front, fromPeers: busy, maxCdnPieces: 100 }))).toHaveLength(100)
  })

  it('is the LAN’s members when there are any (they share the link), else every member', () => {
    expect(groupMembers([{ peer: 'a', lan: false }, { peer: 'b', lan: true }])).toEqual({ members: ['b'], sharedLink: true })
    expect(groupMembers([{ peer: 'a', lan: false }, { peer: 'c', lan: false }])).toEqual({ members: ['a', 'c'], sharedLink: false })
    expect(groupMembers([])).toEqual({ members: [], sharedLink: false })
  })

  it('a member counts while it delivers, or for a while after it last announced a piece', () => {
    expect(isGroupMember({ source: true, announcedAt: 0 }, 10 * MEMBER_PATIENCE_MS)).toBe(true)
    expect(isGroupMember({ source: false, announcedAt: 1000 }, 1000 + MEMBER_PATIENCE_MS)).toBe(true)
    expect(isGroupMember({ source: false, announcedAt: 1000 }, 1001 + MEMBER_PATIENCE_MS)).toBe(false)
  })

  it('a finish-bound shortfall takes its own pieces first, then the others\u2019 (a fake clock)', () => {
    const finishBound = { slip: DEFAULT_FINISH_SLIP }
    const at = (now: number, peerRate: number) => scheduleCdn(base({ now, finishBound, cdnRate: 10e6, peerRate, group: { self, others, sharedLink: true }, maxCdnPieces: 50 }))
    // On time with the LAN's pieces: nothing.
    expect(at(5_000, 20e6)).toEqual([])
    // Past the deadline: every slot, its own pieces ahead of the others'.
    const late = at(60_000, 1e6)
    expect(late).toHaveLength(50)
    const owned = Array.from({ length: 100 }, (_, p) => p).filter(mine).length
    expect(late.slice(0, owned).every((a) => mine(a.piece))).toBe(true)
    expect(late.slice(owned).some((a) => !mine(a.piece))).toBe(true)
  })
})
