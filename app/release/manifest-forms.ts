// The cheaper forms of a signed manifest file that the CDN serves beside it (README, "Manifest
// deltas"): the file zstd-compressed, and patches against earlier versions' files. A client that
// holds an earlier version fetches the patch; of a 130-file release whose update changes 3 files,
// that is about 1 KB where the compressed file is 12 KB. Pure but for zstd.
import { constants, zstdCompressSync } from 'node:zlib'
import { makeDictPatch } from './file-patch.ts'

const ZSTD_LEVEL = 19

export interface ManifestForms {
  readonly zstd: Buffer
  /** Only the patches smaller than the compressed file: an earlier file that shares little with this one (a release signed before the top was stored uncompressed) gets none. */
  readonly deltas: readonly { readonly from: string; readonly patch: Buffer }[]
}

export function manifestForms(file: Uint8Array, earlier: readonly { readonly version: string; readonly file: Uint8Array }[]): ManifestForms {
  const zstd = zstdCompressSync(file, { params: { [constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL } })
  const deltas = earlier.map((e) => ({ from: e.version, patch: makeDictPatch(e.file, file) })).filter((d) => d.patch.length < zstd.length)
  return { zstd, deltas }
}
