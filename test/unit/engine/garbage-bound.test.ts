import { describe, expect, it } from 'vitest'
import { garbageBound } from '../../../app/engine/install/garbage-bound.ts'

describe('garbage bound', () => {
  it('collects once per `every` bytes moved, however the bytes are split', () => {
    let collections = 0
    const moved = garbageBound(100, () => collections++)
    for (let i = 0; i < 99; i++) moved(1)
    expect(collections).toBe(0)
    moved(1)
    expect(collections).toBe(1)
    moved(250)
    expect(collections).toBe(2)
    moved(99)
    expect(collections).toBe(2)
    moved(1)
    expect(collections).toBe(3)
  })
})
