import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { removePiece } from '../../../app/engine/scheduler/pieces-left.ts'

describe('pieces left', () => {
  it('removes a piece that is there, keeps the order, and leaves the list alone for one that is not', () => {
    const left = [2, 5, 9, 14]
    expect(removePiece(left, 9)).toBe(true)
    expect(left).toEqual([2, 5, 14])
    expect(removePiece(left, 9)).toBe(false)
    expect(removePiece(left, 0)).toBe(false)
    expect(removePiece(left, 15)).toBe(false)
    expect(left).toEqual([2, 5, 14])
    expect(removePiece(left, 2)).toBe(true)
    expect(removePiece(left, 14)).toBe(true)
    expect(left).toEqual([5])
  })

  it('after any arrivals, holds exactly what filtering every piece would', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(500)), fc.array(fc.nat(520)), (pieces, arrivals) => {
        const all = [...pieces].sort((a, b) => a - b)
        const left = [...all]
        const arrived = new Set<number>()
        for (const p of arrivals) {
          expect(removePiece(left, p)).toBe(all.includes(p) && !arrived.has(p))
          arrived.add(p)
        }
        expect(left).toEqual(all.filter((p) => !arrived.has(p)))
      }),
    )
  })
})
