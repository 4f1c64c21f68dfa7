export interface PlaceTarget {
  /** Absolute path of a staged file. */
  readonly path: string
  readonly offset: number
}

export interface PlaceItem {
  /** Offset of the chunk's stored bytes in the source. */
  readonly at: number
  readonly stored: number
  readonly size: number
  /** Expected SHA-256 of the raw chunk, hex. */
  readonly sha256: string
  readonly targets: readonly PlaceTarget[]
}

/** Verify chunks from downloaded bytes or from an installed file, and write the good ones to their targets. */
export interface PlaceTask {
  readonly kind: 'place'
  readonly source: { readonly bytes: Uint8Array } | { readonly path: string }
  readonly items: readonly PlaceItem[]
}

export interface PlaceResult {
  /** Indices of items whose bytes failed verification; nothing was written for them. */
  readonly bad: number[]
  /** Raw bytes written, counted once per target. */
  readonly written: number
  /** The downloaded buffer, handed back for the next range. */
  readonly returned: ArrayBuffer | undefined
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

/** SHA-256 of a whole staged file, the last check before it may be switched in. */
export interface FileHashTask {
  readonly kind: 'fileSha256'
  readonly path: string
}

export interface FileHashResult {
  readonly sha256: string
}

export type PlacementTask = PlaceTask | VerifyFileTask | FileHashTask
export type PlacementResult = PlaceResult | VerifyFileResult | FileHashResult
