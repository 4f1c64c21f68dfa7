import { createHash, type KeyObject } from 'node:crypto'
import { ShoalError } from '../../shared/errors.ts'
import { RELEASE_LIMITS, type ChannelPointer, type Manifest } from '../../shared/release-schema.ts'
import { productRootOf } from './cdn-layout.ts'
import { decodePointer, decodeSignedManifest, encodeBundle, hydrateTop } from './manifest-codec.ts'
import { localObjects } from './manifest-objects.ts'
import { fetchObjects } from './object-fetch.ts'
import { fetchBytes } from './resource-fetch.ts'

export interface ResolvedRelease {
  readonly pointer: ChannelPointer
  readonly manifest: Manifest
  /**
   * What the state database keeps: the signed manifest exactly as fetched (schema 1), or a bundle
   * of the signed top and its objects (schema 2). manifestFileSha256 gives the pointer's SHA-256.
   */
  readonly manifestFile: Buffer
  /** Bytes of the signed manifest file (the top of a two-level one). */
  readonly topBytes: number
  /** Bytes fetched from index files, and how many objects they held. */
  readonly objectBytes: number
  readonly fetchedObjects: number
  readonly productRoot: URL
}

/**
 * Fetches a channel pointer and its manifest, and proves both: signatures, expiry, hash, and that
 * they agree. Objects of a two-level manifest that `local` (the installed release) already has are
 * rebuilt from it, not fetched.
 */
export async function resolveRelease(pointerUrl: URL, publicKey: KeyObject, now: Date, local?: Manifest): Promise<ResolvedRelease> {
  const pointer = decodePointer(await fetchBytes(pointerUrl, RELEASE_LIMITS.pointerBytes, 'channel pointer'), publicKey)
  if (now.getTime() > Date.parse(pointer.expiresAt)) {
    throw new ShoalError('E_EXPIRED', `channel pointer ${pointer.product}/${pointer.channel} expired at ${pointer.expiresAt}`, 'the publisher must re-sign the channel; a stale pointer could hide a newer release')
  }
  const productRoot = productRootOf(pointerUrl)
  const manifestUrl = new URL(pointer.manifest.path, productRoot)
  const bytes = await fetchBytes(manifestUrl, Math.min(pointer.manifest.size, RELEASE_LIMITS.manifestBytes), 'manifest')
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  if (sha256 !== pointer.manifest.sha256) {
    throw new ShoalError('E_MANIFEST_HASH', `manifest ${manifestUrl.href} has SHA-256 ${sha256}, but the pointer names ${pointer.manifest.sha256}`, 'the CDN copy is damaged or was replaced; try another mirror')
  }
  const signed = decodeSignedManifest(bytes, publicKey)
  const meta = signed.schema === 1 ? signed.manifest : signed.top
  if (meta.product !== pointer.product || meta.version !== pointer.version) {
    throw new ShoalError('E_SCHEMA', `pointer names ${pointer.product} ${pointer.version}, but the manifest is ${meta.product} ${meta.version}`)
  }
  if (signed.schema === 1) return { pointer, manifest: signed.manifest, manifestFile: bytes, topBytes: bytes.length, objectBytes: 0, fetchedObjects: 0, productRoot }
  const got = await fetchObjects(signed.top, local ? localObjects(local) : new Map(), productRoot, 'manifest')
  const manifest = hydrateTop(signed.top, got.raws, 'manifest')
  return { pointer, manifest, manifestFile: encodeBundle(bytes, got.raws), topBytes: bytes.length, objectBytes: got.fetchedBytes, fetchedObjects: got.fetchedObjects, productRoot }
}
