import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { chunkBuffer } from '../../../app/release/fastcdc.ts'
import { stitchSegments, type SegmentChunks } from '../../../app/release/segment-stitch.ts'
import { seededBytes, seededText } from '../../../app/demo/sample-build.ts'

const params = { min: 256, avg: 1024, max: 4096 }

function segment(data: Buffer, start: number, end: number, overlap: number): SegmentChunks {
  const lengths = chunkBuffer(data, params, start, end, overlap)
  let pos = start
  const digests = Buffer.concat(lengths.map((l) => createHash('sha256').update(data.subarray(pos, (pos += l))).digest()))
  return { start, lengths, digests }
}

describe('parallel segment stitching', () => {
  it('equals one sequential pass for any split points', () => {
    const data = Buffer.concat([seededBytes('stitch', 150_000), seededText('stitch', 150_000)])
    const lengths = chunkBuffer(data, params)
    const whole = segment(data, 0, data.length, 0)
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: data.length - 1 }), { maxLength: 12 }), (cuts) => {
        const bounds = [0, ...cuts.sort((a, b) => a - b), data.length]
        const segments = bounds.slice(0, -1).map((s, i) => segment(data, s, bounds[i + 1]!, 32))
        const r = stitchSegments(segments, data.length)
        expect(r.ok).toBe(true)
        if (r.ok) {
          expect(r.lengths).toEqual(lengths)
          expect(Buffer.from(r.digests).equals(whole.digests)).toBe(true)
        }
      }),
      { numRuns: 300 },
    )
  })

  it('asks for a longer overlap when two chains have not met', () => {
    const data = seededBytes('stitch-short', 100_000)
    const r = stitchSegments([segment(data, 0, 50_001, 0), segment(data, 50_001, data.length, 0)], data.length)
    expect(r).toEqual({ ok: false, segment: 0 })
  })
})
