import { readFile } from 'node:fs/promises'
import type { KeyObject } from 'node:crypto'
import { join } from 'node:path'
import * as v from 'valibot'
import { ShoalError } from '../../shared/errors.ts'
import { versionString, type Manifest, type ManifestObject } from '../../shared/release-schema.ts'
import { int } from '../../shared/schema-rules.ts'
import { cdnPaths } from './cdn-layout.ts'
import { readPublishedManifest } from './cdn-manifest.ts'

// Publisher-side bookkeeping of a product's pack lineage. Clients never read it;
// the publisher trusts it only after the base manifest's hash and signature check out.
export const lineageSchema = v.strictObject({
  product: v.string(),
  pieceLength: int(1),
  /** Chunk sizes of the latest release; the next one uses them unless told otherwise, so chunks keep matching. */
  chunking: v.strictObject({ min: int(), avg: int(), max: int() }),
  releases: v.array(v.strictObject({ version: versionString, manifest: v.string(), sha256: v.string(), publishedAt: v.string() })),
})
export type Lineage = v.InferOutput<typeof lineageSchema>

export async function readLineage(productRoot: string): Promise<Lineage | undefined> {
  const text = await readFile(join(productRoot, cdnPaths.lineage), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  if (text === undefined) return undefined
  const parsed = v.safeParse(lineageSchema, JSON.parse(text))
  if (!parsed.success) throw new ShoalError('E_LINEAGE', `${join(productRoot, cdnPaths.lineage)} is malformed`, 'restore it from backup; it records which releases the pack holds')
  return parsed.output
}

/** The manifests of the `count` latest releases, newest first, their signed files, and where their objects live on the CDN (by SHA-256). */
export async function readRecentReleases(productRoot: string, lineage: Lineage, publicKey: KeyObject, count: number): Promise<{ manifests: Manifest[]; files: Buffer[]; objects: Map<string, ManifestObject> }> {
  const releases = lineage.releases.slice(Math.max(0, lineage.releases.length - count)).reverse()
  const read = await Promise.all(releases.map((r) => readPublishedManifest(productRoot, r.manifest, publicKey, r.sha256)))
  const objects = new Map<string, ManifestObject>()
  // Oldest first, so an object both name keeps the place it was first written to.
  for (const r of [...read].reverse()) for (const o of r.objects) if (!objects.has(o.sha256)) objects.set(o.sha256, o)
  return { manifests: read.map((r) => r.manifest), files: read.map((r) => r.file), objects }
}
