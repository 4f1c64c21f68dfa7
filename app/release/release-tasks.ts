import type { ChunkParams } from './fastcdc.ts'

/** Chunk a file from `start`: every chunk that starts before `end`, then `overlap` more. */
export interface ChunkRangeTask {
  readonly kind: 'chunkRange'
  readonly path: string
  readonly params: ChunkParams
  readonly start: number
  readonly end: number
  readonly overlap: number
  /** Also SHA-256 the bytes read (only meaningful for a whole file). */
  readonly hashFile: boolean
}

export interface ChunkedRange {
  readonly start: number
  readonly lengths: Uint32Array
  /** 32 bytes per chunk. */
  readonly digests: Uint8Array
  readonly fileSha256: string | undefined
}

export interface HashFileTask {
  readonly kind: 'hashFile'
  readonly path: string
}

export interface FileHash {
  readonly sha256: string
}

export interface CompressTask {
  readonly kind: 'compress'
  /** Consecutive raw chunks. */
  readonly raw: Uint8Array
  readonly sizes: readonly number[]
}

export interface CompressedChunks {
  /** Each chunk in its store form, concatenated: zstd where that is smaller, raw otherwise. */
  readonly stored: Uint8Array
  readonly storedSizes: number[]
}

export type ReleaseTask = ChunkRangeTask | HashFileTask | CompressTask
export type ReleaseResult = ChunkedRange | FileHash | CompressedChunks
