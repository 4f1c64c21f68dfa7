import { describe, expect, it } from 'vitest'
import { peerPieceRuns } from '../../../app/engine/scheduler/peer-piece-order.ts'

describe('peer piece order', () => {
  it('starts at the given needed piece and wraps around to the first', () => {
    expect(peerPieceRuns([0, 1, 2, 3, 4, 5], 4)).toEqual([
      [4, 5],
      [0, 3],
    ])
  })

  it('keeps gaps between needed pieces as separate runs, also across the start', () => {
    expect(peerPieceRuns([1, 2, 5, 6, 7, 9], 3)).toEqual([
      [6, 7],
      [9, 9],
      [1, 2],
      [5, 5],
    ])
  })

  it('covers every needed piece exactly once from any start', () => {
    const needed = [0, 1, 2, 7, 8, 20, 21, 22, 23, 40]
    for (let start = 0; start < needed.length; start++) {
      const pieces = peerPieceRuns(needed, start).flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i))
      expect(pieces.toSorted((a, b) => a - b)).toEqual(needed)
      expect(pieces[0]).toBe(needed[start])
    }
  })

  it('takes a fractional or out-of-range start (a random draw) and an empty list', () => {
    expect(peerPieceRuns([3, 4, 5], 1.7)).toEqual([
      [4, 5],
      [3, 3],
    ])
    expect(peerPieceRuns([3, 4, 5], 3)).toEqual([[3, 5]])
    expect(peerPieceRuns([], 0.5)).toEqual([])
  })
})
