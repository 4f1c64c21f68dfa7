import { describe, expect, it } from 'vitest'
import { RangeBuffers } from '../../../app/engine/sources/cdn/range-buffers.ts'

const settled = async <T>(p: Promise<T>): Promise<boolean> => {
  let done = false
  void p.then(() => (done = true))
  await new Promise((r) => setImmediate(r))
  return done
}

describe('range buffers', () => {
  it('makes at most `count`, hands spares back out, and waits while all are out', async () => {
    const pool = new RangeBuffers(2, 1024)
    const a = await pool.take(1000)
    const b = await pool.take(1024)
    expect(a.byteLength).toBe(1024)
    const third = pool.take(512)
    expect(await settled(third)).toBe(false)
    pool.give(a)
    expect(await third).toBe(a)
    // A lost buffer frees its place for a new one.
    const fourth = pool.take(10)
    expect(await settled(fourth)).toBe(false)
    pool.lost()
    expect((await fourth).byteLength).toBe(1024)
    // A range larger than the usual size gets a buffer of its own size, replacing a spare too small.
    pool.give(b)
    const big = await pool.take(4096)
    expect(big).not.toBe(b)
    expect(big.byteLength).toBe(4096)
  })
})
