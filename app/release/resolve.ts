import type { KeyObject } from 'node:crypto'
import { ShoalError } from '../../shared/errors.ts'
import { RELEASE_LIMITS, type ChannelPointer, type Manifest } from '../../shared/release-schema.ts'
import { productRootOf } from './cdn-layout.ts'
import { decodePointer, decodeSignedManifest, encodeBundle, hydrateTop, signedManifestFile } from './manifest-codec.ts'
import { fetchManifestFile } from './manifest-file-fetch.ts'
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
  /** Bytes fetched for the signed manifest file (the top of a two-level one): none when the installed one is it, a delta's when one rebuilt it. */
  readonly topBytes: number
  /** Bytes fetched from index files, and how many objects they held. */
  readonly objectBytes: number
  readonly fetchedObjects: number
  readonly productRoot: URL
}

/** The installed release: its manifest, and that manifest as the state database stores it. */
export interface LocalRelease {
  readonly manifest: Manifest
  readonly stored: Uint8Array
}

/**
 * Fetches a channel pointer and its manifest, and proves both: signatures, expiry, hash, and that
 * they agree. From `local` (the installed release) come the manifest file when the pointer still
 * names it, the base of a manifest delta, and the objects of a two-level manifest it shares.
 */
export async function resolveRelease(pointerUrl: URL, publicKey: KeyObject, now: Date, local?: LocalRelease): Promise<ResolvedRelease> {
  const pointer = decodePointer(await fetchBytes(pointerUrl, RELEASE_LIMITS.pointerBytes, 'channel pointer'), publicKey)
  if (now.getTime() > Date.parse(pointer.expiresAt)) {
    throw new ShoalError('E_EXPIRED', `channel pointer ${pointer.product}/${pointer.channel} expired at ${pointer.expiresAt}`, 'the publisher must re-sign the channel; a stale pointer could hide a newer release')
  }
  const productRoot = productRootOf(pointerUrl)
  const { bytes, fetched, via } = await fetchManifestFile(pointer, productRoot, local && { version: local.manifest.version, file: signedManifestFile(local.stored) })
  // The installed manifest was checked against this key when it was read back: it need not be decoded again.
  if (via === 'installed' && local) return { pointer, manifest: agreeing(pointer, local.manifest), manifestFile: Buffer.from(local.stored), topBytes: 0, objectBytes: 0, fetchedObjects: 0, productRoot }
  const signed = decodeSignedManifest(bytes, publicKey)
  agreeing(pointer, signed.schema === 1 ? signed.manifest : signed.top)
  if (signed.schema === 1) return { pointer, manifest: signed.manifest, manifestFile: bytes, topBytes: fetched, objectBytes: 0, fetchedObjects: 0, productRoot }
  const got = await fetchObjects(signed.top, local ? localObjects(local.manifest) : new Map(), productRoot, 'manifest')
  const manifest = hydrateTop(signed.top, got.raws, 'manifest')
  return { pointer, manifest, manifestFile: encodeBundle(bytes, got.raws), topBytes: fetched, objectBytes: got.fetchedBytes, fetchedObjects: got.fetchedObjects, productRoot }
}

function agreeing<M extends Pick<Manifest, 'product' | 'version'>>(pointer: ChannelPointer, meta: M): M {
  if (meta.product !== pointer.product || meta.version !== pointer.version) {
    throw new ShoalError('E_SCHEMA', `pointer names ${pointer.product} ${pointer.version}, but the manifest is ${meta.product} ${meta.version}`)
  }
  return meta
}
