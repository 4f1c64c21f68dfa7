// The signed manifest file a pointer names, got the cheapest way (README, "Manifest deltas"): the
// installed copy when it is that file, a delta against the installed copy, the zstd copy, or the
// plain file. Whichever way, the bytes are the pointer's file only if their SHA-256 is the pointer's.
import { createHash } from 'node:crypto'
import { zstdDecompressSync } from 'node:zlib'
import { ShoalError } from '../../shared/errors.ts'
import { RELEASE_LIMITS, type ChannelPointer } from '../../shared/release-schema.ts'
import { applyPatch } from './file-patch.ts'
import { fetchBytes } from './resource-fetch.ts'

export interface ManifestFile {
  readonly bytes: Buffer
  /** Bytes fetched for it: the delta, the compressed copy or the file (and a delta that did not rebuild it). */
  readonly fetched: number
  readonly via: 'installed' | 'delta' | 'zstd' | 'file'
}

/** The signed manifest file of the installed version, as its pointer named it. */
export interface InstalledManifestFile {
  readonly version: string
  readonly file: Uint8Array
}

export async function fetchManifestFile(pointer: ChannelPointer, productRoot: URL, installed?: InstalledManifestFile): Promise<ManifestFile> {
  const named = pointer.manifest
  const size = Math.min(named.size, RELEASE_LIMITS.manifestBytes)
  const isNamed = (b: Uint8Array) => b.length === named.size && createHash('sha256').update(b).digest('hex') === named.sha256
  let spent = 0
  if (installed) {
    if (isNamed(installed.file)) return { bytes: Buffer.from(installed.file), fetched: 0, via: 'installed' }
    const delta = named.deltas?.find((d) => d.from === installed.version)
    // A delta that cannot be fetched or does not rebuild the file (the installed copy is not the
    // one it was made from) costs its bytes and nothing else: the full file follows.
    const patch = delta && (await fetchBytes(new URL(delta.path, productRoot), Math.min(delta.size, size), 'manifest delta').catch(() => undefined))
    if (patch) {
      spent = patch.length
      const built = applyPatch(installed.file, patch, named.size)
      if (!(built instanceof Error) && isNamed(built)) return { bytes: built, fetched: spent, via: 'delta' }
    }
  }
  const url = new URL(named.zstd?.path ?? named.path, productRoot)
  const got = await fetchBytes(url, Math.min(named.zstd?.size ?? size, size), 'manifest')
  const bytes = named.zstd ? decompress(got, size, url) : got
  if (!isNamed(bytes)) {
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    throw new ShoalError('E_MANIFEST_HASH', `manifest ${url.href} ${named.zstd ? 'decompresses to' : 'has'} SHA-256 ${sha256}, but the pointer names ${named.sha256}`, 'the CDN copy is damaged or was replaced; try another mirror')
  }
  return { bytes, fetched: spent + got.length, via: named.zstd ? 'zstd' : 'file' }
}

function decompress(stored: Buffer, size: number, url: URL): Buffer {
  try {
    return zstdDecompressSync(stored, { maxOutputLength: Math.max(1, size) })
  } catch {
    throw new ShoalError('E_MANIFEST_HASH', `manifest ${url.href} does not decompress to the ${size} bytes the pointer names`, 'the CDN copy is damaged or was replaced; try another mirror')
  }
}
