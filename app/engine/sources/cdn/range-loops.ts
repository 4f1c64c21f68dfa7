// Runs CDN ranges through `parallel` loops. Each loop overlaps its next fetch with the placing
// of its last range as far as buffers allow: they come from a fixed set, and a fetch starts once
// one is spare. A range cut short still has its whole chunks placed, and every loop settles
// (placing what it has) before a failure goes on. The loops pull their work: from a fixed list
// when the CDN serves everything, from the fetch session's scheduler while peers share the job.
import type { FetchedRange, RangeProgress } from './cdn-source.ts'
import type { Mirror } from './mirror-health.ts'
import type { StoreRange } from './range-planner.ts'
import type { RangeBuffers } from './range-buffers.ts'

export interface FetchJob {
  readonly range: StoreRange
  /** The mirror whose bytes for this range failed verification, if any. */
  readonly avoid: Mirror | undefined
}

/** Where the loops take their ranges from. */
export interface FetchQueue {
  /** The next range; may wait until there is one. Undefined: no more work will come. */
  next(): FetchJob | undefined | Promise<FetchJob | undefined>
  /** Queues a retry (chunks that failed verification). */
  retry(job: FetchJob): void
  /** Whether retries queued after the loops went idle are still to run. */
  readonly more: () => boolean
}

/** A fixed list of ranges, plus the retries placement queues. */
export function listQueue(jobs: FetchJob[]): FetchQueue {
  return { next: () => jobs.shift(), retry: (job) => jobs.push(job), more: () => jobs.length > 0 }
}

export interface RangeLoopSteps {
  fetch(job: FetchJob, into: ArrayBuffer, progress: RangeProgress): Promise<FetchedRange>
  /** Verifies and writes a range; may queue retries; returns the buffer for reuse. */
  place(job: FetchJob, bytes: Buffer, mirror: Mirror): Promise<ArrayBuffer | undefined>
  /** Places the chunks of an interrupted range that arrived whole. */
  placePrefix(job: FetchJob, progress: RangeProgress): Promise<void>
}

/** Ends when the queue has no more work, retries queued by a late failure included. */
export async function runRangeLoops(queue: FetchQueue, parallel: number, buffers: RangeBuffers, steps: RangeLoopSteps): Promise<void> {
  let failed = false
  // A loop that fails ends the others: those waiting for work (the fetch session's queue waits
  // while peers bring everything) stop waiting, or the failure would never come out.
  let stopWaiting = () => {}
  const stopped = new Promise<undefined>((resolve) => (stopWaiting = () => resolve(undefined)))
  const fail = () => {
    failed = true
    stopWaiting()
  }
  const next = async () => (failed ? undefined : Promise.race([queue.next(), stopped]))
  const loop = async () => {
    let placing: Promise<void> = Promise.resolve()
    for (let job = await next(); job && !failed; job = await next()) {
      const into = await buffers.take(job.range.end - job.range.start)
      const progress: RangeProgress = { bytes: undefined, filled: 0, mirror: undefined }
      let fetched: FetchedRange
      try {
        fetched = await steps.fetch(job, into, progress)
      } catch (err) {
        // A pause or a failed mirror mid-range: the chunks that arrived whole are kept.
        await placing.catch(() => undefined)
        await steps.placePrefix(job, progress).catch(() => undefined)
        // The buffer may have gone to a worker with those chunks: this loop ends, another may make one.
        buffers.lost()
        throw err
      }
      const { bytes, mirror } = fetched
      await placing
      const current = job
      placing = steps.place(current, bytes, mirror).then(
        (returned) => (returned ? buffers.give(returned) : buffers.lost()),
        (err: unknown) => {
          buffers.lost()
          throw err
        },
      )
      // Handled here so a failure while the next fetch runs is not an unhandled rejection;
      // `await placing` still rethrows it, and the other loops stop taking ranges.
      placing.catch(fail)
    }
    await placing
  }
  const guarded = () =>
    loop().catch((err: unknown) => {
      fail()
      throw err
    })
  do {
    const failure = (await Promise.allSettled(Array.from({ length: parallel }, guarded))).find((r) => r.status === 'rejected')
    if (failure) throw failure.reason
  } while (queue.more())
}
