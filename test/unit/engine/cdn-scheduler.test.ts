import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { discoveryPending, scheduleCdn, type DiscoveryInput, type SchedulerInput } from '../../../app/engine/scheduler/cdn-scheduler.ts'

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
