import { describe, expect, it } from 'vitest'
import { PieceAvailability } from '../../../app/engine/sources/peers/piece-availability.ts'

describe('piece availability', () => {
  it('follows counted peers through bitfields, haves and departures, and ignores the rest', () => {
    const a = new PieceAvailability<string>(4)
    a.count('x', (p) => p < 2)
    a.count('y', (p) => p === 1)
    expect([...a.counts]).toEqual([1, 2, 0, 0])
    // A peer not counted (not a source) changes nothing, nor does a piece announced twice.
    a.have('z', 3)
    a.have('y', 1)
    a.have('y', 3)
    expect([...a.counts]).toEqual([1, 2, 0, 1])
    // A new bitfield replaces what the peer was counted for.
    a.count('x', (p) => p === 2)
    expect([...a.counts]).toEqual([0, 1, 1, 1])
    a.forget('y')
    a.forget('y')
    expect([...a.counts]).toEqual([0, 0, 1, 0])
    expect(a.isCounted('y')).toBe(false)
    expect(a.isCounted('x')).toBe(true)
    a.have('x', 9)
    expect([...a.counts]).toEqual([0, 0, 1, 0])
  })

  it('equals a recount of every counted peer after any sequence of changes', () => {
    const pieces = 32
    const a = new PieceAvailability<number>(pieces)
    const held = new Map<number, Set<number>>()
    let seed = 7
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n)
    for (let step = 0; step < 2000; step++) {
      const peer = rand(6)
      const op = rand(4)
      if (op === 0) {
        const set = new Set(Array.from({ length: pieces }, (_, p) => p).filter(() => rand(3) === 0))
        held.set(peer, set)
        a.count(peer, (p) => set.has(p))
      } else if (op === 1 && held.has(peer)) {
        const p = rand(pieces)
        held.get(peer)!.add(p)
        a.have(peer, p)
      } else if (op === 2) {
        held.delete(peer)
        a.forget(peer)
      }
      const expected = new Array<number>(pieces).fill(0)
      for (const set of held.values()) for (const p of set) expected[p]!++
      expect([...a.counts]).toEqual(expected)
    }
  })
})
