// Which job a product row or the detail view shows: an unfinished one first, else the newest.
import type { Job } from '../shared/api-contract.ts'

const FINISHED = new Set<Job['state']>(['done', 'failed', 'cancelled'])

export function isFinished(job: Job): boolean {
  return FINISHED.has(job.state)
}

export function jobForProduct(jobs: Readonly<Record<string, Job>>, productId: string): Job | null {
  let best: Job | null = null
  for (const job of Object.values(jobs)) {
    if (job.productId !== productId) continue
    if (!best) best = job
    else if (isFinished(best) !== isFinished(job)) best = isFinished(best) ? job : best
    else if (job.createdAt > best.createdAt) best = job
  }
  return best
}

export function newestJob(jobs: Readonly<Record<string, Job>>): Job | null {
  let best: Job | null = null
  for (const job of Object.values(jobs)) if (!best || (isFinished(best) && !isFinished(job)) || (isFinished(best) === isFinished(job) && job.createdAt > best.createdAt)) best = job
  return best
}

export function jobProgress(job: Job): number {
  return job.bytesTotal > 0 ? Math.min(1, job.bytesDone / job.bytesTotal) : job.state === 'done' ? 1 : 0
}

export function totalRate(job: Job): number {
  return job.rates.cdn + job.rates.lan + job.rates.wan
}
