// A job as the agent records and shows it: how one starts, when it still holds its product,
// and how a failure reads.
import type { CreateJobRequest, ErrorInfo, Job } from '../../shared/api-contract.ts'
import { isShoalError } from '../../shared/errors.ts'
import type { ProductRow } from '../store/products-table.ts'

const PRIORITY = { foreground: 10, background: 0 } as const

/** A queued job for `product`; `installedVersion` is what its folder holds now. */
export function newJob(id: string, req: CreateJobRequest, product: ProductRow, installedVersion: string | null, at: string): Job {
  const mode = req.mode ?? 'foreground'
  return {
    id,
    productId: product.id,
    kind: req.kind,
    state: 'queued',
    detail: null,
    mode,
    priority: req.priority ?? PRIORITY[mode],
    fromVersion: installedVersion,
    version: req.kind === 'install' || req.kind === 'update' ? product.availableVersion : installedVersion,
    bytesTotal: 0,
    bytesDone: 0,
    rates: { cdn: 0, lan: 0, wan: 0 },
    etaSeconds: null,
    bytes: { cdn: 0, lan: 0, wan: 0, local: 0, wasted: 0 },
    offload: 0,
    peers: { lan: 0, wan: 0 },
    error: null,
    createdAt: at,
    updatedAt: at,
  }
}

/** Queued, running, paused or waiting: the job still holds its product. */
export function isOpen(job: Job): boolean {
  return job.state === 'queued' || job.state === 'running' || job.state === 'paused' || job.state === 'waiting'
}

export function errorInfo(err: unknown): ErrorInfo {
  if (isShoalError(err)) return { code: err.code, message: err.message }
  return { code: 'E_INTERNAL', message: String((err as Error)?.message ?? err) }
}
