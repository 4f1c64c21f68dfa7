import { describe, expect, it } from 'vitest'
import { ChunkTargets } from '../../../app/engine/install/chunk-targets.ts'
import type { Manifest } from '../../../shared/release-schema.ts'

// Chunk 1 repeats inside file 0 and appears in file 2; chunk 3 is only in file 1.
const m = {
  chunks: { size: [10, 20, 30, 40], stored: [10, 20, 30, 40], sha256: '' },
  files: [{ chunks: [0, 1, 1] }, { chunks: [3] }, { chunks: [2, 1] }],
} as unknown as Manifest

const positions = (t: ChunkTargets, chunk: number) => {
  const out: [number, number][] = []
  t.forEach(chunk, (file, offset) => out.push([file, offset]))
  return out
}

describe('chunk targets', () => {
  it('lists every position of every chunk of the chosen files, in file order', () => {
    const t = new ChunkTargets(m, [2, 0])
    expect(Array.from(t.chunks)).toEqual([0, 1, 2])
    expect(positions(t, 1)).toEqual([[0, 10], [0, 30], [2, 30]])
    expect(positions(t, 2)).toEqual([[2, 0]])
    expect([0, 1, 2, 3].map((c) => t.count(c))).toEqual([1, 3, 1, 0])
  })

  it('has no positions for a file left out', () => {
    const t = new ChunkTargets(m, [1])
    expect(Array.from(t.chunks)).toEqual([3])
    expect(positions(t, 3)).toEqual([[1, 0]])
    expect(positions(t, 1)).toEqual([])
  })
})
