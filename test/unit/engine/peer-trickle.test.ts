import { describe, expect, it } from 'vitest'
import { judgePeers } from '../../../app/engine/sources/peers/peer-trickle.ts'

describe('which peers trickle', () => {
  it('cuts a wire that owes blocks and brings less than the floor, two windows running', () => {
    const window = (bytes: Record<string, number>, owes = new Set(Object.keys(bytes))) => Object.entries(bytes).map(([key, n]) => ({ key, bytes: n, owes: owes.has(key) }))
    const first = judgePeers(new Map(), window({ fast: 50_000_000, trickle: 16, silent: 0 }), 5000, 1024, 2)
    expect(first).toEqual({ slow: new Map([['trickle', 1], ['silent', 1]]), cut: [] })
    const second = judgePeers(first.slow, window({ fast: 50_000_000, trickle: 16, silent: 0 }), 5000, 1024, 2)
    expect(second.cut).toEqual(['trickle', 'silent'])
  })

  it('leaves idle wires and wires that recover alone, and a merely slower peer too', () => {
    const slow = new Map([['a', 1], ['b', 1]])
    const verdict = judgePeers(slow, [{ key: 'a', bytes: 0, owes: false }, { key: 'b', bytes: 6000, owes: true }, { key: 'wan', bytes: 5000 * 2048, owes: true }], 5000, 1024, 2)
    expect(verdict).toEqual({ slow: new Map(), cut: [] })
  })
})
