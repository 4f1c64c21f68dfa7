// Rebuilds the raw pack (the bytes the torrent covers) from an installed release, for
// BitTorrent clients that seed a plain file: stock webtorrent, aria2c. Shoal itself never
// materialises the pack; this is test and bench support only.
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import type { Manifest } from '../../shared/release-schema.ts'
import { readPublishedManifest as readCdnManifest } from '../../app/release/cdn-manifest.ts'
import { loadPublicKey } from '../../app/cli/key-files.ts'
import { packGeometry } from '../../app/engine/storage/pack-geometry.ts'

/** Reads and verifies a published manifest from a CDN folder. */
export async function readPublishedManifest(cdn: string, product: string, version: string, pubkeyFile: string): Promise<Manifest> {
  return (await readCdnManifest(join(cdn, product), `${version}/manifest.json`, await loadPublicKey(pubkeyFile))).manifest
}

/** Writes the raw pack of `m` to `out`, reading every chunk from the install of that release. */
export async function writeRawPack(m: Manifest, installDir: string, out: string): Promise<void> {
  const where = new Map<number, { path: string; offset: number }>()
  for (const f of m.files) {
    let offset = 0
    for (const c of f.chunks) {
      if (!where.has(c)) where.set(c, { path: join(installDir, f.path), offset })
      offset += m.chunks.size[c]!
    }
  }
  const geometry = packGeometry(m)
  const target = await open(out, 'w')
  const sources = new Map<string, Awaited<ReturnType<typeof open>>>()
  try {
    for (let p = 0; p < geometry.pieceCount; p++) {
      const parts: Buffer[] = []
      for (const s of geometry.segments(p)) {
        if (s.kind === 'zeros') {
          parts.push(Buffer.alloc(s.length))
          continue
        }
        const at = where.get(s.chunk)
        if (!at) throw new Error(`chunk ${s.chunk} is not in the install: the raw pack of a multi-release product needs every release`)
        let handle = sources.get(at.path)
        if (!handle) sources.set(at.path, (handle = await open(at.path, 'r')))
        const buf = Buffer.alloc(s.length)
        await handle.read(buf, 0, s.length, at.offset + s.offset)
        parts.push(buf)
      }
      await target.write(Buffer.concat(parts))
    }
  } finally {
    await target.close()
    for (const h of sources.values()) await h.close()
  }
}
