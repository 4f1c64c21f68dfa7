import { describe, expect, it } from 'vitest'
import { PieceOrder, peerPieceRuns } from '../../../app/engine/scheduler/peer-piece-order.ts'
import { seeded } from '../../sim/random.ts'

const piecesOf = (runs: readonly (readonly [number, number])[]) => runs.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i))

describe('peer piece order', () => {
  it('cuts the needed pieces into runs of at most `span` consecutive pieces, gaps kept', () => {
    const runs = peerPieceRuns([0, 1, 2, 3, 4, 7, 8, 20], 2, () => 0.999)
    expect(runs.toSorted((a, b) => a[0] - b[0])).toEqual([
      [0, 1],
      [2, 3],
      [4, 4],
      [7, 8],
      [20, 20],
    ])
  })

  it('keeps pieces in order within a run and covers every needed piece exactly once', () => {
    const needed = Array.from({ length: 300 }, (_, i) => i).filter((p) => p % 37 !== 5)
    const random = seeded(7)
    for (let n = 0; n < 20; n++) {
      const runs = peerPieceRuns(needed, 8, random)
      for (const [a, b] of runs) expect(b - a).toBeLessThan(8)
      expect(piecesOf(runs).toSorted((a, b) => a - b)).toEqual(needed)
    }
  })

  it('gives jobs with their own draws different orders, the same draws the same order', () => {
    const needed = Array.from({ length: 256 }, (_, i) => i)
    const a = peerPieceRuns(needed, 8, seeded(1))
    const b = peerPieceRuns(needed, 8, seeded(2))
    expect(a).not.toEqual(b)
    expect(peerPieceRuns(needed, 8, seeded(1))).toEqual(a)
    // Not just a rotation: the runs after the first are not in ascending order.
    expect(a.slice(1).some(([first], i) => first < a[i]![0])).toBe(true)
  })

  it('takes an empty list', () => {
    expect(peerPieceRuns([], 8, Math.random)).toEqual([])
  })
})

describe('a job\u2019s front', () => {
  it('is the first pieces of its order not done yet, runs one after another', () => {
    const order = new PieceOrder([[8, 10], [0, 2], [5, 5]])
    const done = new Set<number>()
    const front = (n: number) => [...order.front(n, (p) => done.has(p))]
    expect(front(4)).toEqual([8, 9, 10, 0])
    for (const p of [8, 9, 1]) done.add(p)
    expect(front(4)).toEqual([10, 0, 2, 5])
    for (const p of [10, 0, 2, 5]) done.add(p)
    expect(front(4)).toEqual([])
  })
})
