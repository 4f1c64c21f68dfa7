import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { memberKey, owns } from '../../../app/engine/scheduler/piece-owner.ts'

const keys = (n: number) => Array.from({ length: n }, (_, i) => memberKey(i.toString(16).padStart(40, '0')))

describe('piece owner in a group', () => {
  it('names exactly one owner for each piece among members that see each other', () => {
    const group = keys(7)
    for (let piece = 0; piece < 500; piece++) {
      const owners = group.filter((k) => owns(piece, k, group.filter((o) => o !== k)))
      expect(owners).toHaveLength(1)
    }
  })

  it('spreads pieces about evenly', () => {
    const group = keys(4)
    const counts = group.map((k) => Array.from({ length: 4000 }, (_, p) => p).filter((p) => owns(p, k, group.filter((o) => o !== k))).length)
    for (const c of counts) expect(c).toBeGreaterThan(800)
  })

  it('a member joining moves only pieces to itself', () => {
    const group = keys(6)
    const before = group.slice(0, 5)
    for (let piece = 0; piece < 500; piece++) {
      const was = before.find((k) => owns(piece, k, before.filter((o) => o !== k)))
      const now = group.find((k) => owns(piece, k, group.filter((o) => o !== k)))
      expect(now === was || now === group[5]).toBe(true)
    }
  })

  it('with partial views, every piece has a member that owns it in its own view', () => {
    // Members see random subsets of each other (symmetric, like connections); the member with the
    // highest weight owns the piece in its own view, so no piece waits for nobody.
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.nat(), fc.nat(10_000), (n, seed, piece) => {
        const ks = keys(n)
        const sees = (a: number, b: number) => a !== b && (Math.imul(Math.min(a, b) * 31 + Math.max(a, b), 0x9e3779b1) ^ seed) % 3 !== 0
        const view = (a: number) => ks.filter((_, b) => sees(a, b))
        expect(ks.some((k, a) => owns(piece, k, view(a)))).toBe(true)
      }),
    )
  })
})
