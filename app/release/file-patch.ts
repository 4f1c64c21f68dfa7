// Per-file patches: zstd with the old file as a raw-content dictionary and long-distance
// matching, as `zstd --long --patch-from=OLD` does. No new dependency: Node 24's zlib has it.
import { constants, zstdCompressSync, zstdDecompressSync } from 'node:zlib'

/** `zstd -19`, the level the reference `zstd --patch-from` runs at in the bench. */
const PATCH_LEVEL = 19

/** A window that reaches from the new file back over the whole old one. */
function windowLog(oldSize: number, newSize: number): number {
  return Math.min(31, Math.max(20, Math.ceil(Math.log2(oldSize + newSize + 1))))
}

export function makePatch(oldFile: Uint8Array, newFile: Uint8Array): Buffer {
  return zstdCompressSync(newFile, {
    dictionary: oldFile,
    params: {
      [constants.ZSTD_c_compressionLevel]: PATCH_LEVEL,
      [constants.ZSTD_c_enableLongDistanceMatching]: 1,
      [constants.ZSTD_c_windowLog]: windowLog(oldFile.length, newFile.length),
      [constants.ZSTD_c_checksumFlag]: 0,
    },
  })
}

/** The new file's bytes, or an Error when the patch does not decode against `oldFile` to `size` bytes. */
export function applyPatch(oldFile: Uint8Array, patch: Uint8Array, size: number): Buffer | Error {
  try {
    const out = zstdDecompressSync(patch, { dictionary: oldFile, maxOutputLength: Math.max(1, size), params: { [constants.ZSTD_d_windowLogMax]: 31 } })
    return out.length === size ? out : new Error(`the patch builds ${out.length} bytes, not ${size}`)
  } catch (err) {
    return new Error(`the patch does not decode: ${(err as Error).message}`)
  }
}
