import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeUpdatedBuild } from '../../app/demo/sample-build.ts'
import { packGeometry, pieceSha1 } from '../../app/engine/storage/pack-geometry.ts'
import { StoreLocations } from '../../app/release/store-locations.ts'
import { rawChunk } from '../../app/release/store-reader.ts'
import { makeFixture } from '../support/release-fixture.ts'
import { useTempDirs } from '../support/temp-dir.ts'

const tempDir = useTempDirs()

describe('pack geometry', () => {
  it('rebuilds every piece of a two-section pack from chunks and padding, matching the torrent hashes', async () => {
    const dir = await tempDir()
    const f = await makeFixture(dir, 3 * 1024 * 1024)
    await writeUpdatedBuild(f.build, join(dir, 'v2'), 'geometry')
    // Small pieces so sections end mid-piece and chunks straddle piece boundaries.
    expect((await f.publish(f.build, '1.0.0', ['--piece-size', '16KiB'])).code).toBe(0)
    expect((await f.publish(join(dir, 'v2'), '1.1.0', ['--piece-size', '16KiB'])).code).toBe(0)
    const m = await f.readManifest('1.1.0')
    const g = packGeometry(m)
    const locations = new StoreLocations(m)
    const stores = new Map<string, Buffer>()
    const chunk = async (c: number) => {
      const path = locations.path(c)
      const offset = locations.offset(c)
      if (!stores.has(path)) stores.set(path, await readFile(join(f.cdn, 'game', path)))
      return rawChunk(stores.get(path)!.subarray(offset, offset + m.chunks.stored[c]!), m.chunks.size[c]!, `chunk ${c}`)
    }
    const pieces = Buffer.from(m.pack.pieces, 'base64')
    let padded = 0
    for (let p = 0; p < g.pieceCount; p++) {
      const parts: Buffer[] = []
      for (const s of g.segments(p)) {
        if (s.kind === 'zeros') {
          padded++
          parts.push(Buffer.alloc(s.length))
        } else parts.push((await chunk(s.chunk)).subarray(s.offset, s.offset + s.length))
      }
      const bytes = Buffer.concat(parts)
      expect(bytes.length).toBe(m.pack.pieceLength)
      // The span names the same chunks as the segments, in order, without building them.
      const { first, end } = g.chunkSpan(p)
      const spanned = Array.from({ length: end - first }, (_, k) => first + k)
      expect(spanned, `piece ${p}`).toEqual(g.segments(p).flatMap((s) => (s.kind === 'chunk' ? [s.chunk] : [])))
      expect(Buffer.from(pieceSha1(pieces, p)).equals(createHash('sha1').update(bytes).digest()), `piece ${p}`).toBe(true)
    }
    expect(padded).toBeGreaterThan(0)
    // A task posted to a worker carries the whole buffer behind a view: the hash goes alone.
    expect(pieceSha1(pieces, 1).buffer.byteLength).toBe(20)

    expect(g.completePieces(() => true)).toHaveLength(g.pieceCount)
    const missing = m.files[0]!.chunks[0]!
    const complete = new Set(g.completePieces((c) => c !== missing))
    const touching = [...Array(g.pieceCount).keys()].filter((p) => g.segments(p).some((s) => s.kind === 'chunk' && s.chunk === missing))
    expect(touching.length).toBeGreaterThan(0)
    for (const p of touching) expect(complete.has(p)).toBe(false)
    expect(complete.size).toBe(g.pieceCount - touching.length)
    expect(() => g.segments(g.pieceCount)).toThrow(RangeError)
    expect(() => g.chunkSpan(g.pieceCount)).toThrow(RangeError)
  })
})
