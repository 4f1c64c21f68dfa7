import { ShoalError } from '../../shared/errors.ts'
import type { ChunkParams } from './fastcdc.ts'
import type { ChunkedRange, CompressedChunks, FileHash, MadePatch, MakePatchTask, ReleaseResult, ReleaseTask } from './release-tasks.ts'
import { stitchSegments } from './segment-stitch.ts'
import { WorkerPool } from './worker-pool.ts'

export type { CompressedChunks } from './release-tasks.ts'

export interface ChunkedFile {
  readonly lengths: ArrayLike<number>
  /** 32 bytes per chunk. */
  readonly digests: Uint8Array
  /** SHA-256 of the whole file, when asked for. */
  readonly fileSha256: string | undefined
}

/** Files above this are chunked in parallel segments. */
const SEGMENT_BYTES = 64 * 1024 * 1024
/** Chunks a segment runs past its end so the next segment's chain can be met (widened on a miss). */
const OVERLAP_CHUNKS = 32

/** Typed front of the release worker threads. */
export class ReleaseWorkers {
  private readonly pool: WorkerPool<ReleaseTask, ReleaseResult>
  private readonly segmentBytes: number

  constructor(size?: number, segmentBytes = SEGMENT_BYTES) {
    this.pool = new WorkerPool(new URL('./release-worker.ts', import.meta.url), size)
    this.segmentBytes = segmentBytes
  }

  get size(): number {
    return this.pool.size
  }

  /** FastCDC chunks of a file with their SHA-256, and optionally the file's SHA-256, all in worker threads. */
  async chunkFile(path: string, size: number, params: ChunkParams, hashFile: boolean, onProgress?: (bytes: number) => void): Promise<ChunkedFile> {
    try {
      const seg = this.segmentBytes
      if (size <= seg || this.size === 1) {
        const r = await this.range(path, params, 0, Number.MAX_SAFE_INTEGER, 0, hashFile, onProgress)
        return { lengths: r.lengths, digests: r.digests, fileSha256: r.fileSha256 }
      }
      // The whole-file hash is sequential, so it starts first and runs beside the segments.
      const fileHash = hashFile ? (this.pool.run({ kind: 'hashFile', path }) as Promise<FileHash>) : undefined
      const progress: number[] = []
      const starts = Array.from({ length: Math.ceil(size / seg) }, (_, k) => k * seg)
      const segments = await Promise.all(
        starts.map((start, k) =>
          this.range(path, params, start, start + seg, OVERLAP_CHUNKS, false, (bytes) => {
            progress[k] = Math.min(bytes, seg)
            onProgress?.(progress.reduce((a, b) => a + (b ?? 0), 0))
          }),
        ),
      )
      for (let overlap = OVERLAP_CHUNKS * 8; ; overlap *= 8) {
        const stitched = stitchSegments(segments, size)
        if (stitched.ok) return { lengths: stitched.lengths, digests: stitched.digests, fileSha256: (await fileHash)?.sha256 }
        const k = stitched.segment
        segments[k] = await this.range(path, params, starts[k]!, starts[k]! + seg, overlap, false)
      }
    } catch (err) {
      throw new ShoalError('E_IO', `cannot read ${path}: ${(err as Error).message}`)
    }
  }

  /** Compresses consecutive chunks; `raw` is transferred to the worker and unusable afterwards. */
  async compress(raw: Uint8Array, sizes: readonly number[]): Promise<CompressedChunks> {
    return (await this.pool.run({ kind: 'compress', raw, sizes }, [raw.buffer as ArrayBuffer])) as CompressedChunks
  }

  /** A patch from an earlier release's file (rebuilt from the CDN store) to a build file. */
  async makePatch(task: Omit<MakePatchTask, 'kind'>): Promise<MadePatch> {
    return (await this.pool.run({ kind: 'makePatch', ...task })) as MadePatch
  }

  close(): Promise<void> {
    return this.pool.close()
  }

  private range(path: string, params: ChunkParams, start: number, end: number, overlap: number, hashFile: boolean, onProgress?: (bytes: number) => void): Promise<ChunkedRange> {
    return this.pool.run({ kind: 'chunkRange', path, params, start, end, overlap, hashFile }, [], onProgress) as Promise<ChunkedRange>
  }
}
