import { describe, expect, it } from 'vitest'
import { DEFAULT_TRICKLE, judgeWindow, nextMirrorRate } from '../../../app/engine/sources/cdn/trickle-rule.ts'

describe('when a trickling range request is cut', () => {
  it('below the floor for two windows running, whatever else runs', () => {
    const first = judgeWindow(0, 15, 15_000, undefined, DEFAULT_TRICKLE)
    expect(first).toEqual({ slow: 1, cut: undefined })
    expect(judgeWindow(first.slow, 15, 15_000, undefined, DEFAULT_TRICKLE)).toEqual({ slow: 2, cut: 'trickled at 1 B/s over 15000 ms, below the floor of 1024 B/s' })
    expect(judgeWindow(1, 15 * 1024, 15_000, undefined, DEFAULT_TRICKLE)).toEqual({ slow: 0, cut: undefined })
    expect(judgeWindow(1, 1, 15_000, undefined, { ...DEFAULT_TRICKLE, floor: 0 })).toEqual({ slow: 0, cut: undefined })
  })

  it('leaves a silent window to the stall timeout: it neither counts nor clears', () => {
    expect(judgeWindow(1, 0, 15_000, undefined, DEFAULT_TRICKLE)).toEqual({ slow: 1, cut: undefined })
  })

  it('far below the best other mirror, not merely below it', () => {
    const others = 16 * 1024 * 1024
    expect(judgeWindow(1, 15 * 512 * 1024, 15_000, others, DEFAULT_TRICKLE).cut).toMatch(/under 1\/16 of another mirror's 16777216 B\/s/)
    expect(judgeWindow(1, 15 * 2 * 1024 * 1024, 15_000, others, DEFAULT_TRICKLE)).toEqual({ slow: 0, cut: undefined })
  })

  it("a mirror's rate moves with its requests, without one slow answer defining it", () => {
    expect(nextMirrorRate(undefined, 4_000_000, 1000)).toBe(4_000_000)
    expect(nextMirrorRate(4_000_000, 4_000, 1000)).toBeCloseTo(2_801_200)
    expect(nextMirrorRate(undefined, 1, 0)).toBe(1000)
  })
})
