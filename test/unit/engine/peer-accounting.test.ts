import { describe, expect, it } from 'vitest'
import { createPeerAccounting } from '../../../app/engine/sources/peers/peer-accounting.ts'
import type { PackGeometry, PieceSegment } from '../../../app/engine/storage/pack-geometry.ts'

// Two 100-byte pieces: piece 0 = chunk 0 (60 B) + the first 40 B of chunk 1 (70 B);
// piece 1 = the last 30 B of chunk 1 + chunk 2 (50 B) + 20 B of padding.
const layout: PieceSegment[][] = [
  [
    { kind: 'chunk', chunk: 0, offset: 0, length: 60 },
    { kind: 'chunk', chunk: 1, offset: 0, length: 40 },
  ],
  [
    { kind: 'chunk', chunk: 1, offset: 40, length: 30 },
    { kind: 'chunk', chunk: 2, offset: 0, length: 50 },
    { kind: 'zeros', length: 20 },
  ],
]
const geometry: PackGeometry = { pieceLength: 100, pieceCount: 2, chunkOffsets: new Float64Array([0, 60, 130]), segments: (i) => layout[i]!, chunkSpan: (i) => [{ first: 0, end: 2 }, { first: 1, end: 3 }][i]!, completePieces: () => [] }
const sizes = [60, 70, 50]

describe('peer accounting', () => {
  it('counts a straddling chunk once all its pieces are in, split by the class of its senders', () => {
    const done = new Set<number>()
    const a = createPeerAccounting(geometry, sizes, new Set([0, 1, 2]), (c) => done.has(c))
    a.block(0, 'lan', 100)
    expect(a.verified(0)).toEqual([{ chunk: 0, lan: 60, wan: 0 }])
    a.block(1, 'lan', 50)
    a.block(1, 'wan', 50)
    const second = a.verified(1)
    expect(second).toEqual([
      { chunk: 1, lan: 55, wan: 15 },
      { chunk: 2, lan: 25, wan: 25 },
    ])
    // The padding was received and is not part of any file.
    expect(a.wasted()).toBe(20)
    const useful = [{ chunk: 0, lan: 60, wan: 0 }, ...second].reduce((n, c) => n + c.lan + c.wan, 0)
    expect(useful + a.wasted()).toBe(200)
  })

  it('wastes slices of chunks another source placed, failed pieces and duplicates, and never counts a byte twice', () => {
    const done = new Set<number>([0])
    const a = createPeerAccounting(geometry, sizes, new Set([1, 2]), (c) => done.has(c))
    a.block(0, 'wan', 100)
    expect(a.verified(0)).toEqual([])
    // Chunk 0 was placed already: its 60 bytes are waste; chunk 1's 40 bytes wait for piece 1.
    expect(a.wasted()).toBe(60)
    a.placedElsewhere(1)
    expect(a.wasted()).toBe(100)
    a.block(1, 'lan', 100)
    a.failed(1)
    expect(a.wasted()).toBe(200)
    a.block(1, 'lan', 100)
    a.block(1, 'lan', 16)
    expect(a.verified(1)).toEqual([{ chunk: 2, lan: 50, wan: 0 }])
    expect(a.wasted()).toBe(200 + 116 - 50)
    a.block(0, 'lan', 16)
    a.finish()
    expect(a.wasted()).toBe(266 + 16)
  })
})
