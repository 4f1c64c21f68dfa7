// A small simulation through the real scheduler, cap split and tracker ranking: whatever the
// figures, the books must balance (timings are reported by `npm run simulate`, never asserted).
import { describe, expect, it } from 'vitest'
import { figures } from '../../sim/report.ts'
import { small, smallSites } from '../../sim/scenarios.ts'
import { simulate } from '../../sim/simulator.ts'
import type { Scenario } from '../../sim/scenario.ts'

const check = (sc: Scenario) => {
  const run = simulate(sc)
  const f = figures(sc.description, run, simulate({ ...sc, mode: { kind: 'cdn-only' } }))
  // Every client completes, each piece counted once per client.
  expect(run.completed).toBe(sc.clients)
  expect(run.completionMs.every((t) => t !== undefined)).toBe(true)
  expect(run.doubleCounted).toBe(0)
  // A peer sends only pieces it holds, also when its piece was finished by others and it moves on.
  expect(run.unheldPieces).toBe(0)
  expect(run.usefulBytes).toBe(sc.clients * run.releaseBytes)
  // Bytes conserved: whatever a source sent was either used or counted as wasted.
  expect(f.invariants.bytesConserved).toBe(true)
  expect(run.sentBytes).toBeCloseTo(run.cdnBytes + run.peerBytes.lan + run.peerBytes.wan, 0)
  return { run, f }
}

describe('a 100-client simulation', () => {
  it('over the internet, with seeders, pauses and departures, balances its books', () => {
    const { run } = check(small)
    expect(run.cdnPieces.probe).toBeGreaterThan(0)
    expect(run.peerBytes.wan).toBeGreaterThan(0)
  })

  it('in sites behind WAN links, balances its books and counts site bytes', () => {
    const { run, f } = check(smallSites)
    expect(run.peerBytes.lan).toBeGreaterThan(0)
    // Whatever entered a site came from the CDN or a peer outside it.
    const into = run.siteWan.reduce((s, w) => s + w.down, 0)
    const out = run.siteWan.reduce((s, w) => s + w.up, 0)
    expect(into).toBeCloseTo(run.cdnBytes + out, 0)
    // The tracker sends no machines of other sites: only the CDN's bytes cross a WAN link.
    expect(run.peerBytes.wan).toBe(0)
    expect(f.siteWanTimesRelease?.perSiteDown).toHaveLength(5)
  })

  it('is reproducible from its seed', () => {
    const a = simulate(small)
    const b = simulate(small)
    expect(b.cdnBytes).toBe(a.cdnBytes)
    expect(b.completionMs).toEqual(a.completionMs)
  })
})
