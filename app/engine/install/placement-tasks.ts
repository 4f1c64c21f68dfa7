/** Numbers per item in `PlaceTask.items`: stored offset in the source, stored size, raw size, first target, target count. */
export const ITEM_FIELDS = 5
/** Numbers per target in `PlaceTask.targets`: index into `paths`, offset in that file. */
export const TARGET_FIELDS = 2

/**
 * Verify chunks from downloaded bytes or from an installed file, and write the good ones to their
 * targets. Items travel as flat numbers and digests as one buffer: a range's ~250 items as objects
 * with hex digests and a path per target cost the main thread ~0.4 s per GiB to post and collect.
 */
export interface PlaceTask {
  readonly kind: 'place'
  readonly source: { readonly bytes: Uint8Array } | { readonly path: string }
  /** Absolute paths of the staged files the targets write to. */
  readonly paths: readonly string[]
  /** ITEM_FIELDS numbers per chunk. */
  readonly items: Float64Array
  /** TARGET_FIELDS numbers per position a chunk fills. */
  readonly targets: Float64Array
  /** Expected SHA-256 of each chunk's raw bytes, 32 bytes per item. */
  readonly sha256: Uint8Array
}

export interface PlaceResult {
  /** Indices of items whose bytes failed verification; nothing was written for them. */
  readonly bad: number[]
  /** Raw bytes written, counted once per target. */
  readonly written: number
  /** The downloaded buffer, handed back for the next range. */
  readonly returned: ArrayBuffer | undefined
}

/**
 * A piece from peers: its SHA-1 (from the signed torrent info) is checked over the whole piece,
 * then its slices are written. Items are slices of pending chunks: stored offset = offset in the
 * piece, stored size = raw size = slice length; each target is where that slice goes.
 */
export interface PlacePieceTask {
  readonly kind: 'placePiece'
  readonly bytes: Uint8Array
  readonly sha1: Uint8Array
  readonly paths: readonly string[]
  readonly items: Float64Array
  readonly targets: Float64Array
}

export interface PlacePieceResult {
  readonly ok: boolean
  readonly written: number
  /** The piece buffer, handed back for the next piece. */
  readonly returned: ArrayBuffer
}

/** Numbers per segment in `ReadPieceTask.segments`: index into `paths`, offset in that file, offset in the piece, length. */
export const SEGMENT_FIELDS = 4

/**
 * Reads a piece for upload from release files and checks its SHA-1, unless every file it reads
 * still has `identity` (device, inode, size, mtime; storage/file-identity.ts): the files' identity
 * when the piece last verified, or when the install that wrote them checked them. A piece this
 * process placed itself, its bytes checked before they were written (`placedHere`), is neither
 * hashed nor compared.
 */
export interface ReadPieceTask {
  readonly kind: 'readPiece'
  /** Where the piece is read to, handed over and back. */
  readonly into: ArrayBuffer
  readonly paths: readonly string[]
  readonly segments: Float64Array
  readonly length: number
  readonly sha1: Uint8Array
  readonly identity: string | undefined
  readonly placedHere: boolean
  /**
   * Only bytes [from, to) of the piece, to the buffer's start, and only while every file still
   * has `identity` (or the piece was placed here): a block of a piece that verified, without
   * reading or hashing the rest.
   */
  readonly range?: { readonly from: number; readonly to: number }
}

export interface ReadPieceResult {
  /** False when a file is short or the bytes do not match the SHA-1. */
  readonly ok: boolean
  /** The buffer, the piece (or the range) at its start. */
  readonly into: ArrayBuffer
  /** The identity of the files read, to skip the hash next time. */
  readonly identity: string
  /** With a range: a file has changed since the piece verified, and nothing was read. */
  readonly changed?: boolean
}

/** Hash an installed file chunk by chunk against a manifest, and as a whole, in one read. */
export interface VerifyFileTask {
  readonly kind: 'verifyFile'
  readonly path: string
  readonly sizes: readonly number[]
  readonly sha256s: readonly string[]
  readonly fileSha256: string
}

export interface VerifyFileResult {
  /** Chunk positions (in the file's chunk list) that do not match; all of them when the file is missing or has the wrong size. */
  readonly bad: number[]
  readonly fileOk: boolean
}

/**
 * Feeds bytes [from, to) of a staged file, already placed and verified chunk by chunk, to the
 * file's running SHA-256 in this worker (`from` 0 starts it afresh). Spans arrive in file order
 * while the download goes on, so the check before commit is done by the time the last chunk is.
 */
export interface HashSpanTask {
  readonly kind: 'hashSpan'
  readonly path: string
  readonly from: number
  readonly to: number
  /** Ends the hash: the result carries the digest. */
  readonly final: boolean
}

export interface HashSpanResult {
  /** Hex digest of the whole file, once `final`. */
  readonly sha256: string | undefined
}

/**
 * Builds a changed file from the installed old file and a patch whose chunks were verified as they
 * were staged. The old file is checked against the SHA-256 the patch was made from, and the new
 * bytes against the file's own before they are written.
 */
export interface ApplyPatchTask {
  readonly kind: 'applyPatch'
  readonly oldPath: string
  readonly oldSha256: string
  readonly patchPath: string
  readonly patchSize: number
  readonly outPath: string
  readonly size: number
  readonly sha256: string
}

export interface ApplyPatchResult {
  /** Undefined when the file was written; else why the patch cannot build it. */
  readonly failure: { readonly code: 'E_VERIFY'; readonly reason: string } | undefined
  /** Time spent applying (CPU-bound, on this worker). */
  readonly seconds: number
}

export type PlacementTask = PlaceTask | PlacePieceTask | ReadPieceTask | VerifyFileTask | HashSpanTask | ApplyPatchTask
export type PlacementResult = PlaceResult | PlacePieceResult | ReadPieceResult | VerifyFileResult | HashSpanResult | ApplyPatchResult
