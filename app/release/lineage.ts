import { readFile } from 'node:fs/promises'
import { createHash, type KeyObject } from 'node:crypto'
import { join } from 'node:path'
import { z } from 'zod'
import { ShoalError } from '../../shared/errors.ts'
import { versionString, type Manifest } from '../../shared/release-schema.ts'
import { cdnPaths } from './cdn-layout.ts'
import { decodeManifest } from './manifest-codec.ts'

// Publisher-side bookkeeping of a product's pack lineage. Clients never read it;
// the publisher trusts it only after the base manifest's hash and signature check out.
export const lineageSchema = z.strictObject({
  product: z.string(),
  pieceLength: z.number().int().positive(),
  /** Chunk sizes of the latest release; the next one uses them unless told otherwise, so chunks keep matching. */
  chunking: z.strictObject({ min: z.number().int(), avg: z.number().int(), max: z.number().int() }),
  releases: z.array(z.strictObject({ version: versionString, manifest: z.string(), sha256: z.string(), publishedAt: z.string() })),
})
export type Lineage = z.infer<typeof lineageSchema>

export async function readLineage(productRoot: string): Promise<Lineage | undefined> {
  const text = await readFile(join(productRoot, cdnPaths.lineage), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  if (text === undefined) return undefined
  const parsed = lineageSchema.safeParse(JSON.parse(text))
  if (!parsed.success) throw new ShoalError('E_LINEAGE', `${join(productRoot, cdnPaths.lineage)} is malformed`, 'restore it from backup; it records which releases the pack holds')
  return parsed.data
}

/** The manifest of the most recently published release: the base the next pack section extends. */
export async function readBaseManifest(productRoot: string, lineage: Lineage, publicKey: KeyObject): Promise<Manifest | undefined> {
  return (await readRecentManifests(productRoot, lineage, publicKey, 1))[0]
}

/** The manifests of the `count` latest releases, newest first. */
export function readRecentManifests(productRoot: string, lineage: Lineage, publicKey: KeyObject, count: number): Promise<Manifest[]> {
  return Promise.all(lineage.releases.slice(Math.max(0, lineage.releases.length - count)).reverse().map((r) => readReleaseManifest(productRoot, r, publicKey)))
}

async function readReleaseManifest(productRoot: string, release: Lineage['releases'][number], publicKey: KeyObject): Promise<Manifest> {
  const path = join(productRoot, release.manifest)
  const bytes = await readFile(path)
  if (createHash('sha256').update(bytes).digest('hex') !== release.sha256) {
    throw new ShoalError('E_MANIFEST_HASH', `${path} does not match the hash recorded in lineage.json`, 'the CDN copy was altered; restore it before publishing')
  }
  return decodeManifest(bytes, publicKey, path)
}
