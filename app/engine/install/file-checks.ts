// The whole-file SHA-256 of every assembled file, the last check before the switch. Each file's
// hash moves forward while the download goes on: its leading placed bytes are read back and fed
// to a running hash on one worker, a span at a time, so the check costs no pass of its own at
// the end.
import type { Manifest } from '../../../shared/release-schema.ts'
import type { WorkerPool } from '../../release/worker-pool.ts'
import { hasBit } from './bitfield.ts'
import type { HashSpanResult, PlacementResult, PlacementTask } from './placement-tasks.ts'

/** A file's SHA-256 moves forward in spans of this many placed bytes. */
const HASH_STEP = 16 * 1024 * 1024
const HASH_SPAN_MAX = 64 * 1024 * 1024

/** Where a file's running SHA-256 stands (see HashSpanTask). */
interface FileHash {
  /** Leading chunks of the file known to be placed, and their bytes. */
  chunks: number
  placed: number
  /** Bytes handed to the hashing worker. */
  sent: number
  /** The file's latest span; its spans run one after another on one worker. */
  last: Promise<HashSpanResult>
}

export interface FileCheckContext {
  readonly manifest: Manifest
  /** Every chunk's SHA-256, 32 bytes each. */
  readonly digests: Buffer
  /** Chunks placed in every target. */
  readonly done: Uint8Array
  readonly workers: WorkerPool<PlacementTask, PlacementResult>
  readonly stagedPath: (file: number) => string
}

export class FileChecks {
  private readonly c: FileCheckContext
  private readonly hashes = new Map<number, FileHash>()
  /** One-chunk files checked whole by their chunk's verification in this run (see placed). */
  private readonly provenByChunk = new Set<number>()

  constructor(c: FileCheckContext) {
    this.c = c
  }

  /**
   * Takes note of newly placed chunks of file `i`. `sha256Checked`: their own SHA-256 was
   * verified before they were written (not so for peers' pieces, checked by SHA-1).
   *
   * A file that is one chunk, whose SHA-256 the manifest gives as that chunk's digest, was
   * checked whole when the chunk was verified before it was written: no second hash of the same
   * bytes. Only for chunks this run verified and placed; a chunk from peers or one a checkpoint
   * says was placed before (maybe lost to a power cut since) still gets its file read back.
   */
  placed(i: number, sha256Checked: boolean): void {
    if (sha256Checked && !this.hashes.has(i)) {
      const chunks = this.c.manifest.files[i]!.chunks
      if (chunks.length === 1 && this.c.digests.toString('hex', chunks[0]! * 32, chunks[0]! * 32 + 32) === this.c.manifest.files[i]!.sha256) this.provenByChunk.add(i)
    }
    if (!this.provenByChunk.has(i)) void this.hashForward(i, false)
  }

  /** Starts file `i`'s hash afresh: its chunks are placed again. */
  forget(i: number): void {
    this.hashes.delete(i)
  }

  /** The files among `files`, all their chunks placed, whose SHA-256 does not match the manifest. */
  async mismatched(files: Iterable<number>): Promise<number[]> {
    const checks = [...files].map(async (i) => {
      if (this.provenByChunk.has(i)) return undefined
      const { sha256 } = await this.hashForward(i, true)
      return sha256 === this.c.manifest.files[i]!.sha256 ? undefined : i
    })
    return (await Promise.all(checks)).filter((i) => i !== undefined)
  }

  /** Feeds file `i`'s newly placed leading bytes to its hash; `final` sends the rest and resolves to the digest. */
  private hashForward(i: number, final: boolean): Promise<HashSpanResult> {
    let h = this.hashes.get(i)
    if (!h) {
      h = { chunks: 0, placed: 0, sent: 0, last: Promise.resolve({ sha256: undefined }) }
      this.hashes.set(i, h)
    }
    const chunks = this.c.manifest.files[i]!.chunks
    while (h.chunks < chunks.length && hasBit(this.c.done, chunks[h.chunks]!)) h.placed += this.c.manifest.chunks.size[chunks[h.chunks++]!]!
    if (final && h.chunks < chunks.length) throw new Error(`${this.c.manifest.files[i]!.path} is checked before all its chunks were placed`)
    // A resumed job's first span can be most of a file: it goes in pieces, so placement tasks
    // queued on the same worker are not held up behind it.
    while (final || h.placed - h.sent >= HASH_STEP) {
      const to = Math.min(h.placed, h.sent + HASH_SPAN_MAX)
      const task = { kind: 'hashSpan', path: this.c.stagedPath(i), from: h.sent, to, final: final && to === h.placed } as const
      h.sent = to
      h.last = h.last.then(() => this.c.workers.runOn(i, task) as Promise<HashSpanResult>)
      // Failures surface when the check awaits the final span.
      h.last.catch(() => undefined)
      if (task.final) {
        this.hashes.delete(i)
        break
      }
    }
    return h.last
  }
}
