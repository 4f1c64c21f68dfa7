// The cheaper forms of a signed manifest file that the CDN serves beside it (README, "Manifest
// deltas"): the file zstd-compressed, and patches against earlier versions' files. A client that
// holds an earlier version fetches the patch; of a 130-file release whose update changes 3 files,
// that is about 1 KB where the compressed file is 12 KB. Pure but for zstd.
import { constants, zstdCompressSync } from 'node:zlib'
import { makeDictPatch } from './file-patch.ts'

/**
 * zstd -19 takes about a second per megabyte of manifest here. Above this size (a release of
 * some 12,000 files) both forms use level 12: for a 100,000-file top of 32 MB, the compressed
 * copy is 9.0 MB in 1.7 s instead of 7.3 MB in 37 s, and a delta for 1 % of the files changed
 * 56 KB in 1.3 s instead of 42 KB in 55 s.
 */
const SMALL_BYTES = 4 * 1024 * 1024
const levelFor = (bytes: number) => (bytes <= SMALL_BYTES ? 19 : 12)

export interface ManifestForms {
  readonly zstd: Buffer
  /** Only the patches smaller than the compressed file: an earlier file that shares little with this one (a release signed before the top was stored uncompressed) gets none. */
  readonly deltas: readonly { readonly from: string; readonly patch: Buffer }[]
}

export function manifestForms(file: Uint8Array, earlier: readonly { readonly version: string; readonly file: Uint8Array }[]): ManifestForms {
  const level = levelFor(file.length)
  const zstd = zstdCompressSync(file, { params: { [constants.ZSTD_c_compressionLevel]: level } })
  const deltas = earlier.map((e) => ({ from: e.version, patch: makeDictPatch(e.file, file, { level }) })).filter((d) => d.patch.length < zstd.length)
  return { zstd, deltas }
}
