// The pump between a peer's socket and its wire (gated-pump.ts), on plain objects and a fake gate.
import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { pump, type Gate } from '../../../app/engine/sources/peers/gated-pump.ts'

/** A source that reads every chunk into one buffer and scribbles over it once listeners had it. */
function reusingSource(): { from: EventEmitter & { pause(): void; resume(): void }; send(bytes: Uint8Array): void } {
  const from = Object.assign(new EventEmitter(), { pause: () => {}, resume: () => {} })
  const reused = new Uint8Array(64)
  return {
    from,
    send: (bytes) => {
      reused.set(bytes)
      from.emit('data', reused.subarray(0, bytes.length))
      reused.fill(0xee)
    },
  }
}

describe('gated pump', () => {
  it('copies the bytes it holds at the gate when its source reuses one buffer, and delivers them in order', async () => {
    const { from, send } = reusingSource()
    const got: number[] = []
    const to = Object.assign(new EventEmitter(), {
      write: (chunk: Uint8Array) => {
        got.push(...chunk)
        return true
      },
    })
    // Four bytes pass at once, then one byte each time the gate opens again.
    let budget = 4
    let later: () => void = () => {}
    const gate: Gate = (wanted) => {
      if (budget === 0) return 0
      const n = Math.min(wanted, budget)
      budget -= n
      return n
    }
    pump(from, to, (l) => ((later = l), gate), () => {}, () => false, true)
    send(Uint8Array.of(1, 2, 3, 4, 5, 6))
    send(Uint8Array.of(7, 8))
    expect(got).toEqual([1, 2, 3, 4])
    for (let i = 0; i < 4; i++) {
      budget = 1
      later()
      await Promise.resolve()
    }
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
  })
})
