import { join } from 'node:path'

// Where a release lives on the CDN. Paths inside pointers and manifests are
// relative to the product root, so a mirror can host the tree under any prefix.
export const cdnPaths = {
  productRoot: (cdnRoot: string, product: string) => join(cdnRoot, product),
  lineage: 'lineage.json',
  channel: (channel: string) => `channels/${channel}.json`,
  manifest: (version: string) => `${version}/manifest.json`,
  /** The manifest file zstd-compressed, and as a patch against an earlier version's (README, "Manifest deltas"). */
  manifestZstd: (version: string) => `${version}/manifest.json.zst`,
  manifestDelta: (version: string, from: string) => `${version}/manifest.from-${from}.patch`,
  /** The objects of a two-level manifest that earlier releases did not have, each zstd-compressed. */
  index: (version: string) => `${version}/index`,
  store: (version: string) => `${version}/pack.chunks`,
  /** The release's per-file patches, stored as they are (they are zstd already). */
  patchStore: (version: string) => `${version}/pack.patches`,
  torrent: (version: string) => `${version}/pack.torrent`,
} as const

/** The product root URL for a pointer URL ending in channels/NAME.json. */
export function productRootOf(pointerUrl: URL): URL {
  return new URL('../', pointerUrl)
}
