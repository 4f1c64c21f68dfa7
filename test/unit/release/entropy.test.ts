import { zstdCompressSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { looksIncompressible, sampledEntropy } from '../../../app/release/entropy.ts'
import { seededBytes, seededText } from '../../../app/demo/sample-build.ts'

describe('compressibility guess', () => {
  it('tells random and already-compressed bytes from text', () => {
    const random = seededBytes('e', 16384)
    const text = seededText('e', 16384)
    const zstd = zstdCompressSync(seededText('e2', 200_000))
    expect(sampledEntropy(random)).toBeGreaterThan(7.9)
    expect(sampledEntropy(text)).toBeLessThan(6)
    expect(looksIncompressible(random)).toBe(true)
    expect(looksIncompressible(zstd.subarray(0, 16384))).toBe(true)
    expect(looksIncompressible(text)).toBe(false)
    expect(looksIncompressible(Buffer.alloc(16384))).toBe(false)
    expect(looksIncompressible(random.subarray(0, 100))).toBe(false)
  })
})
