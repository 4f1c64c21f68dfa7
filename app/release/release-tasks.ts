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

/** Numbers per old chunk in `MakePatchTask.oldChunks`: index into `stores`, offset there, stored size, raw size. */
export const OLD_CHUNK_FIELDS = 4

/** Rebuild an earlier version's file from the CDN store, and patch it to a new build file. */
export interface MakePatchTask {
  readonly kind: 'makePatch'
  /** Absolute paths of the CDN store files the old file's chunks sit in. */
  readonly stores: readonly string[]
  readonly oldChunks: Float64Array
  readonly oldSha256: string
  readonly newPath: string
  readonly newSize: number
}

export interface MadePatch {
  /** Undefined when the patch did not rebuild the new file exactly (then chunks alone serve it). */
  readonly patch: Uint8Array | undefined
}

export type ReleaseTask = ChunkRangeTask | HashFileTask | CompressTask | MakePatchTask
export type ReleaseResult = ChunkedRange | FileHash | CompressedChunks | MadePatch
