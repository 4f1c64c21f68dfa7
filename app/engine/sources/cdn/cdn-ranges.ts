// The CDN as a source of a job: merged ranges of the chunk stores, fetched by parallel range
// loops into a fixed set of buffers, each range handed (not copied) to a placement worker that
// verifies every chunk's SHA-256 and writes it to its staged places. Chunks that fail are
// fetched again, avoiding the mirror that sent them. The work is a fixed list when the CDN
// serves everything, or pulled piece by piece from the fetch session while peers share the job.
import type { Manifest } from '../../../../shared/release-schema.ts'
import type { StoreLocations } from '../../../release/store-locations.ts'
import type { WorkerPool } from '../../../release/worker-pool.ts'
import type { PlaceResult, PlaceTask, PlacementResult, PlacementTask } from '../../install/placement-tasks.ts'
import type { CdnSource, RangeProgress } from './cdn-source.ts'
import type { Mirror } from './mirror-health.ts'
import { RangeBuffers } from './range-buffers.ts'
import { listQueue, runRangeLoops, type FetchJob, type FetchQueue } from './range-loops.ts'
import { offsetInRange, planRanges, type RangeOptions } from './range-planner.ts'

/** The CDN's work beside peers, handed out by the fetch session. */
export interface CdnWork {
  /** The chunks of the CDN's next piece; waits while the CDN should idle; undefined once it is no longer needed. */
  next(): Promise<readonly number[] | undefined>
  /** Chunks the CDN verified and placed. */
  placed(chunks: readonly number[]): void
}

export interface CdnRangesContext {
  readonly manifest: Manifest
  readonly locations: StoreLocations
  readonly cdn: CdnSource
  readonly workers: WorkerPool<PlacementTask, PlacementResult>
  readonly ranges: RangeOptions
  /** Parallel range requests. */
  readonly parallel: number
  /** The placement task for `chunks` of a fetched range: where each sits in it and how many bytes it takes there. */
  readonly placeTask: (bytes: Uint8Array, chunks: readonly number[], at: (c: number) => number, stored: (c: number) => number) => PlaceTask
  /** Chunks verified and written. */
  readonly placed: (chunks: readonly number[]) => void
  /** Bytes fetched and thrown away (chunks that failed verification). */
  readonly onWasted: (bytes: number) => void
}

export class CdnRanges {
  private readonly c: CdnRangesContext
  /** One buffer per connection, for every CDN range of the job: a loop's next fetch waits for a placement to hand one back. */
  private readonly buffers: RangeBuffers

  constructor(c: CdnRangesContext) {
    this.c = c
    this.buffers = new RangeBuffers(c.parallel, c.ranges.maxRange)
  }

  /** Fetches and places `chunks`. */
  async fetch(chunks: readonly number[]): Promise<void> {
    await this.loops(listQueue(planRanges(this.c.manifest, this.c.locations, chunks, this.c.ranges).map((range) => ({ range, avoid: undefined }))), undefined)
  }

  /** The CDN beside peers: the same range loops, fed piece by piece by the fetch session. */
  async fetchFor(work: CdnWork): Promise<void> {
    const ranges: FetchJob[] = []
    const queue: FetchQueue = {
      next: async () => {
        while (ranges.length === 0) {
          const chunks = await work.next()
          if (chunks === undefined) return undefined
          for (const range of planRanges(this.c.manifest, this.c.locations, chunks, this.c.ranges)) ranges.push({ range, avoid: undefined })
        }
        return ranges.shift()
      },
      retry: (job) => ranges.push(job),
      more: () => ranges.length > 0,
    }
    await this.loops(queue, work)
  }

  private async loops(queue: FetchQueue, work: CdnWork | undefined): Promise<void> {
    // Here the workers are the bottleneck: a buffer more per worker cost 8 MiB of peak memory
    // for no measured gain in time (2.7-3.1 s either way for 1 GiB).
    await runRangeLoops(queue, this.c.parallel, this.buffers, {
      fetch: (job, into, progress) => this.c.cdn.fetchRange(job.range.path, job.range.start, job.range.end, job.avoid, into, progress),
      place: (job, bytes, mirror) => this.place(job, bytes, mirror, queue, work),
      placePrefix: (job, progress) => this.placePrefix(job, progress, work),
    })
  }

  /** Places the chunks of an interrupted range that arrived whole. */
  private async placePrefix(job: FetchJob, progress: RangeProgress, work: CdnWork | undefined): Promise<void> {
    const stored = this.c.manifest.chunks.stored
    const whole = job.range.chunks.filter((c) => offsetInRange(this.c.locations, job.range, c) + stored[c]! <= progress.filled)
    if (!progress.bytes || !progress.mirror || whole.length === 0) return
    await this.place({ range: { ...job.range, chunks: whole }, avoid: job.avoid }, progress.bytes, progress.mirror, undefined, work)
  }

  /** Verifies and writes one fetched range in a worker; returns the buffer for reuse. */
  private async place(job: FetchJob, bytes: Buffer, mirror: Mirror, queue: FetchQueue | undefined, work: CdnWork | undefined): Promise<ArrayBuffer | undefined> {
    const { range } = job
    const { manifest, locations } = this.c
    const batch = Array.from(range.chunks)
    // The range buffer is handed over, not copied: nothing here reads it again.
    const owned = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)
    const task = this.c.placeTask(owned, batch, (c) => offsetInRange(locations, range, c), (c) => manifest.chunks.stored[c]!)
    const r = (await this.c.workers.run(task, [owned.buffer as ArrayBuffer])) as PlaceResult
    const bad = new Set(r.bad.map((k) => batch[k]!))
    const good = batch.filter((c) => !bad.has(c))
    this.c.placed(good)
    work?.placed(good)
    if (bad.size > 0) {
      this.c.onWasted([...bad].reduce((n, c) => n + manifest.chunks.stored[c]!, 0))
      this.c.cdn.penalize(mirror, `${bad.size} chunk(s) of ${range.path} bytes ${range.start}-${range.end - 1} failed SHA-256 verification`)
      for (const retry of planRanges(manifest, locations, bad, this.c.ranges)) queue?.retry({ range: retry, avoid: mirror })
    }
    return r.returned
  }
}
