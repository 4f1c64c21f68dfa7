import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { alignUp, planPack } from '../../../app/release/pack-planner.ts'
import { PieceHasher } from '../../../app/release/piece-hasher.ts'

const d = (name: string) => createHash('sha256').update(name).digest()
const file = (names: string[], size = 100) => ({ lengths: names.map(() => size), digests: Buffer.concat(names.map(d)) })
const empty = { digests: new Uint8Array(0), sizes: [], packLength: 0 }

describe('pack planner', () => {
  it('stores each unique chunk once, in order of first appearance, in a piece-aligned section', () => {
    const plan = planPack(empty, [file(['a', 'b', 'a']), file(['c', 'b'])], 256)
    expect(plan.fileChunks).toEqual([[0, 1, 0], [2, 1]])
    expect(plan.newChunks.map((c) => [c.file, c.fileOffset])).toEqual([[0, 0], [0, 100], [1, 0]])
    expect(plan.section).toEqual({ offset: 0, length: 300, firstChunk: 0, chunkCount: 3 })
    expect(plan.packLength).toBe(512)
  })

  it('reuses chunks earlier releases introduced; the new section holds only new ones at the tail', () => {
    const v1 = planPack(empty, [file(['a', 'b', 'c'])], 256)
    const known = { digests: v1.newDigests, sizes: v1.newChunks.map((c) => c.size), packLength: v1.packLength }
    const v2 = planPack(known, [file(['a', 'x', 'c', 'y'])], 256)
    expect(v2.fileChunks).toEqual([[0, 3, 2, 4]])
    expect(v2.section).toEqual({ offset: 512, length: 200, firstChunk: 3, chunkCount: 2 })
    expect(Buffer.from(v2.newDigests)).toEqual(Buffer.concat([d('x'), d('y')]))
    expect(v2.packLength).toBe(768)
  })

  it('an unchanged release adds an empty section and no pack bytes', () => {
    const v1 = planPack(empty, [file(['a'])], 256)
    const v2 = planPack({ digests: v1.newDigests, sizes: [100], packLength: v1.packLength }, [file(['a'])], 256)
    expect(v2.newChunks).toEqual([])
    expect(v2.packLength).toBe(v1.packLength)
  })

  it('alignUp rounds to the next multiple', () => {
    expect([alignUp(0, 4), alignUp(1, 4), alignUp(4, 4), alignUp(5, 4)]).toEqual([0, 4, 4, 8])
  })
})

describe('piece hasher', () => {
  it('hashes pieces across arbitrary update boundaries and zero-pads the last piece', () => {
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251))
    const h = new PieceHasher(256)
    h.update(data.subarray(0, 7))
    h.update(data.subarray(7, 600))
    h.update(data.subarray(600))
    const padded = Buffer.concat([data, Buffer.alloc(24)])
    const expected = [0, 1, 2, 3].map((i) => createHash('sha1').update(padded.subarray(i * 256, i * 256 + 256)).digest())
    expect(h.finish()).toEqual(Buffer.concat(expected))
  })
})
