import type { ChunkParams } from './fastcdc.ts'

export interface ChunkHashRequest {
  readonly id: number
  readonly path: string
  readonly params: ChunkParams
}

export type ChunkHashReply =
  | { readonly id: number; readonly kind: 'progress'; readonly bytes: number }
  | { readonly id: number; readonly kind: 'done'; readonly lengths: Uint32Array; readonly digests: Uint8Array; readonly fileSha256: string }
  | { readonly id: number; readonly kind: 'error'; readonly message: string; readonly code: string | undefined }
