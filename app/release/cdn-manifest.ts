// A published manifest read from the publisher's own CDN folder: the top, hydrated from the
// index files it names (publish reads earlier releases this way, and tests read what it wrote).
import { createHash, type KeyObject } from 'node:crypto'
import { open, readFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { ShoalError } from '../../shared/errors.ts'
import type { Manifest, ManifestObject } from '../../shared/release-schema.ts'
import { decodeSignedManifest, hydrateTop } from './manifest-codec.ts'
import { inflateObject, objectUses } from './manifest-objects.ts'

export interface PublishedManifest {
  readonly manifest: Manifest
  /** The top's objects (none for a schema-1 manifest): a later release refers to these instead of writing them again. */
  readonly objects: readonly ManifestObject[]
  /** The signed manifest file as published: a later release's manifest delta is made against it. */
  readonly file: Buffer
}

/** Reads `path` (relative to the product root) and, when `sha256` is given, refuses a file that differs from it. */
export async function readPublishedManifest(productRoot: string, path: string, publicKey: KeyObject, sha256?: string): Promise<PublishedManifest> {
  const file = join(productRoot, path)
  const bytes = await readFile(file)
  if (sha256 !== undefined && createHash('sha256').update(bytes).digest('hex') !== sha256) {
    throw new ShoalError('E_MANIFEST_HASH', `${file} does not match the hash recorded in lineage.json`, 'the CDN copy was altered; restore it before publishing')
  }
  const signed = decodeSignedManifest(bytes, publicKey, file)
  if (signed.schema === 1) return { manifest: signed.manifest, objects: [], file: bytes }
  const { top } = signed
  const { unit } = objectUses(top, file)
  const handles = new Map<string, Promise<FileHandle>>()
  try {
    const raws: Buffer[] = []
    for (const [i, o] of top.objects.entries()) {
      let handle = handles.get(o.path)
      if (!handle) handles.set(o.path, (handle = open(join(productRoot, o.path), 'r')))
      const stored = Buffer.alloc(o.size)
      const { bytesRead } = await (await handle).read(stored, 0, o.size, o.offset)
      if (bytesRead !== o.size) throw new ShoalError('E_MANIFEST_HASH', `${file}: object ${i} runs past the end of ${o.path}`)
      raws.push(inflateObject(stored, o, unit[i]!, file))
    }
    return { manifest: hydrateTop(top, raws, file), objects: top.objects, file: bytes }
  } finally {
    for (const h of handles.values()) await h.then((f) => f.close(), () => undefined)
  }
}
