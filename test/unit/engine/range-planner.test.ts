import { describe, expect, it } from 'vitest'
import { offsetInRange, planRanges } from '../../../app/engine/sources/cdn/range-planner.ts'
import { StoreLocations } from '../../../app/release/store-locations.ts'
import type { Manifest } from '../../../shared/release-schema.ts'

// Two sections: chunks 0-3 in 1.0.0/pack.chunks, chunks 4-5 in 1.1.0/pack.chunks.
const m = {
  chunks: { size: [100, 100, 100, 100, 50, 50], stored: [100, 10, 100, 100, 50, 20], sha256: '' },
  pack: {
    sections: [
      { firstChunk: 0, chunkCount: 4, store: { path: '1.0.0/pack.chunks', size: 310 } },
      { firstChunk: 4, chunkCount: 2, store: { path: '1.1.0/pack.chunks', size: 70 } },
    ],
  },
} as unknown as Manifest
const locations = new StoreLocations(m)

describe('range planner', () => {
  it('locates each chunk in its section store', () => {
    expect([0, 1, 2, 3, 4, 5].map((c) => `${locations.path(c)}@${locations.offset(c)}`)).toEqual(['1.0.0/pack.chunks@0', '1.0.0/pack.chunks@100', '1.0.0/pack.chunks@110', '1.0.0/pack.chunks@210', '1.1.0/pack.chunks@0', '1.1.0/pack.chunks@50'])
  })

  it('merges neighbours, fetches small gaps through, and keeps stores apart', () => {
    const ranges = planRanges(m, locations, [5, 3, 0, 2], { maxGap: 10, maxRange: 1000 })
    expect(ranges.map((r) => [r.path, r.start, r.end, Array.from(r.chunks, (c) => [c, offsetInRange(locations, r, c)])])).toEqual([
      ['1.0.0/pack.chunks', 0, 310, [[0, 0], [2, 110], [3, 210]]],
      ['1.1.0/pack.chunks', 50, 70, [[5, 0]]],
    ])
  })

  it('starts a new range where a section ends, even between neighbouring chunks', () => {
    expect(planRanges(m, locations, [3, 4], { maxGap: 1000, maxRange: 1000 }).map((r) => [r.path, r.start, r.end, Array.from(r.chunks)])).toEqual([
      ['1.0.0/pack.chunks', 210, 310, [3]],
      ['1.1.0/pack.chunks', 0, 50, [4]],
    ])
  })

  it('names a chunk outside every section', () => {
    expect(() => locations.path(6)).toThrow(/chunk 6 is in no pack section/)
  })

  it('splits on large gaps and at the range cap', () => {
    expect(planRanges(m, locations, [0, 2], { maxGap: 5, maxRange: 1000 }).map((r) => [r.start, r.end])).toEqual([[0, 100], [110, 210]])
    expect(planRanges(m, locations, [0, 1, 2, 3], { maxGap: 100, maxRange: 200 }).map((r) => [r.start, r.end])).toEqual([[0, 110], [110, 310]])
  })
})
