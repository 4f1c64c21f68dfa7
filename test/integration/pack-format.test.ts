import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import parseTorrent from 'parse-torrent'
import { describe, expect, it } from 'vitest'
import { writeUpdatedBuild } from '../../app/demo/sample-build.ts'
import { rawChunk } from '../../app/release/store-reader.ts'
import type { Manifest } from '../../shared/release-schema.ts'
import { makeFixture } from '../support/release-fixture.ts'
import { useTempDirs } from '../support/temp-dir.ts'

const tempDir = useTempDirs()

/** Rebuilds the raw pack from the CDN stores, the way a CDN source will. */
async function rawPack(cdnProduct: string, m: Manifest): Promise<{ pack: Buffer; chunks: Buffer[]; compressed: number }> {
  const pack = Buffer.alloc(m.pack.length)
  const chunks: Buffer[] = []
  let compressed = 0
  for (const s of m.pack.sections) {
    const store = await readFile(join(cdnProduct, s.store.path))
    expect(store.length).toBe(s.store.size)
    let storeOffset = 0
    let packOffset = s.offset
    for (let i = s.firstChunk; i < s.firstChunk + s.chunkCount; i++) {
      const stored = m.chunks.stored[i]!
      const raw = rawChunk(store.subarray(storeOffset, storeOffset + stored), m.chunks.size[i]!, `chunk ${i}`)
      if (stored < raw.length) compressed++
      raw.copy(pack, packOffset)
      chunks.push(raw)
      storeOffset += stored
      packOffset += raw.length
    }
  }
  return { pack, chunks, compressed }
}

describe('pack format', () => {
  it('stores, pieces, torrent and files agree byte for byte across two releases', async () => {
    const dir = await tempDir()
    const f = await makeFixture(dir, 6 * 1024 * 1024)
    expect((await f.publish(f.build, '1.0.0', ['--tracker', 'http://127.0.0.1:8000/announce'])).code).toBe(0)
    await writeUpdatedBuild(f.build, join(dir, 'build-v2'), 'v2')
    expect((await f.publish(join(dir, 'build-v2'), '1.1.0', ['--tracker', 'http://127.0.0.1:8000/announce'])).code).toBe(0)

    for (const [version, build] of [['1.0.0', f.build], ['1.1.0', join(dir, 'build-v2')]] as const) {
      const m = await f.readManifest(version)
      const { pack, chunks, compressed } = await rawPack(join(f.cdn, 'game'), m)
      // Text-like chunks are stored compressed, random ones raw.
      expect(compressed).toBeGreaterThan(0)
      expect(compressed).toBeLessThan(chunks.length)

      const digests = Buffer.from(m.chunks.sha256, 'base64')
      chunks.forEach((c, i) => expect(createHash('sha256').update(c).digest().equals(digests.subarray(i * 32, i * 32 + 32)), `chunk ${i}`).toBe(true))
      const pieces = Buffer.from(m.pack.pieces, 'base64')
      for (let p = 0; p * m.pack.pieceLength < pack.length; p++) {
        const sha1 = createHash('sha1').update(pack.subarray(p * m.pack.pieceLength, (p + 1) * m.pack.pieceLength)).digest()
        expect(sha1.equals(pieces.subarray(p * 20, p * 20 + 20)), `${version} piece ${p}`).toBe(true)
      }
      for (const file of m.files) {
        const content = Buffer.concat(file.chunks.map((c) => chunks[c]!))
        expect(content.equals(await readFile(join(build, file.path))), file.path).toBe(true)
        expect(createHash('sha256').update(content).digest('hex')).toBe(file.sha256)
      }

      // An independent parser (webtorrent's) reads the same torrent.
      const torrent = await parseTorrent(await readFile(join(f.cdn, 'game', version, 'pack.torrent')))
      expect(torrent.infoHash).toBe(m.pack.infoHash)
      expect(torrent.length).toBe(m.pack.length)
      expect(torrent.pieceLength).toBe(m.pack.pieceLength)
      expect(torrent.private).toBe(true)
      expect(torrent.urlList).toEqual([])
      expect(torrent.announce).toEqual(['http://127.0.0.1:8000/announce'])
    }
  })
})
