import { createHash, type KeyObject } from 'node:crypto'
import { ShoalError } from '../../shared/errors.ts'
import { RELEASE_LIMITS, type ChannelPointer, type Manifest } from '../../shared/release-schema.ts'
import { productRootOf } from './cdn-layout.ts'
import { decodeManifest, decodePointer } from './manifest-codec.ts'
import { fetchBytes } from './resource-fetch.ts'

export interface ResolvedRelease {
  readonly pointer: ChannelPointer
  readonly manifest: Manifest
  /** The signed manifest exactly as fetched; its SHA-256 is the pointer's. */
  readonly manifestFile: Buffer
  readonly productRoot: URL
}

/** Fetches a channel pointer and its manifest, and proves both: signatures, expiry, hash, and that they agree. */
export async function resolveRelease(pointerUrl: URL, publicKey: KeyObject, now: Date): Promise<ResolvedRelease> {
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
  const manifest = decodeManifest(bytes, publicKey)
  if (manifest.product !== pointer.product || manifest.version !== pointer.version) {
    throw new ShoalError('E_SCHEMA', `pointer names ${pointer.product} ${pointer.version}, but the manifest is ${manifest.product} ${manifest.version}`)
  }
  return { pointer, manifest, manifestFile: bytes, productRoot }
}
