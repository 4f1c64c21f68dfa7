import { describe, expect, it } from 'vitest'
import { TrickleWatch } from '../../../app/engine/sources/peers/trickle-watch.ts'

describe('trickle watch', () => {
  it('judges once a window has passed, cuts a wire slow two windows in a row, and never with no floor', () => {
    const w = new TrickleWatch<string>(0, 1024, 1000)
    const wires = () => [
      { key: 'slow', owes: true },
      { key: 'fast', owes: true },
    ]
    w.received('fast', 1_000_000)
    expect(w.judge(500, wires)).toEqual([])
    expect(w.judge(1000, wires)).toEqual([])
    w.received('fast', 1_000_000)
    w.received('slow', 10)
    expect(w.judge(2000, wires)).toEqual(['slow'])
    const off = new TrickleWatch<string>(0, 0, 1000)
    expect(off.judge(5000, wires)).toEqual([])
    expect(off.judge(9000, wires)).toEqual([])
  })
})
