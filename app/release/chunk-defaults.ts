import type { ChunkParams } from './fastcdc.ts'

/** Measured in `npm run bench` (README, "Chunk sizes"): the best update cost per manifest byte up to 16 GiB. */
export const DEFAULT_CHUNKING: ChunkParams = { min: 4 * 1024, avg: 16 * 1024, max: 64 * 1024 }
/** For very large first releases: a quarter of the manifest per GiB, at a higher update cost. */
export const LARGE_RELEASE_CHUNKING: ChunkParams = { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }
export const LARGE_RELEASE_BYTES = 16 * 2 ** 30

export interface ChunkFlags {
  readonly min?: number | undefined
  readonly avg?: number | undefined
  readonly max?: number | undefined
}

/**
 * Chunk sizes for a release: explicit flags win (a lone --chunk-avg implies avg/4 and avg*4),
 * then the product's previous sizes, then a default by release size.
 */
export function chooseChunking(flags: ChunkFlags, previous: ChunkParams | undefined, releaseBytes: number): ChunkParams {
  const base = previous ?? (releaseBytes > LARGE_RELEASE_BYTES ? LARGE_RELEASE_CHUNKING : DEFAULT_CHUNKING)
  if (flags.min === undefined && flags.avg === undefined && flags.max === undefined) return base
  const avg = flags.avg ?? base.avg
  return { min: flags.min ?? avg / 4, avg, max: flags.max ?? avg * 4 }
}
