// The agent_jobs table: the agent's job queue as the API shows it, kept so that a restart
// resumes it. Live figures (rates, ETA, peers) are not stored: they read as zero after a load.
import * as v from 'valibot'
import { sourceBytesSchema, type Job } from '../../shared/api-contract.ts'
import { errorText, parseErrorText } from './error-column.ts'
import type { StateDb } from './state-db.ts'

interface RawJob {
  id: string
  product_id: string
  kind: Job['kind']
  state: Job['state']
  mode: Job['mode']
  priority: number
  detail: string | null
  from_version: string | null
  version: string | null
  bytes_total: number
  bytes_done: number
  bytes: string
  error: string | null
  created_at: string
  updated_at: string
}

/** Oldest first. */
export function listAgentJobs(db: StateDb): Job[] {
  return db
    .prepare<[], RawJob>('SELECT * FROM agent_jobs ORDER BY created_at, id')
    .all()
    .map((r) => {
      const bytes = v.parse(sourceBytesSchema, JSON.parse(r.bytes))
      const received = bytes.cdn + bytes.lan + bytes.wan
      return {
        id: r.id,
        productId: r.product_id,
        kind: r.kind,
        state: r.state,
        detail: r.detail,
        mode: r.mode,
        priority: r.priority,
        fromVersion: r.from_version,
        version: r.version,
        bytesTotal: r.bytes_total,
        bytesDone: r.bytes_done,
        rates: { cdn: 0, lan: 0, wan: 0 },
        etaSeconds: null,
        bytes,
        offload: received > 0 ? (bytes.lan + bytes.wan) / received : 0,
        peers: { lan: 0, wan: 0 },
        error: parseErrorText(r.error),
        createdAt: r.created_at,
        updatedAt: r.updated_at,
      }
    })
}

/** Inserts the job or updates what can change in its row (not its id, product, kind or creation time). */
export function saveAgentJob(db: StateDb, j: Job): void {
  db.prepare(
    `INSERT INTO agent_jobs (id, product_id, kind, state, mode, priority, detail, from_version, version, bytes_total, bytes_done, bytes, error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(id) DO UPDATE SET state = excluded.state, mode = excluded.mode, priority = excluded.priority, detail = excluded.detail, from_version = excluded.from_version, version = excluded.version,
       bytes_total = excluded.bytes_total, bytes_done = excluded.bytes_done, bytes = excluded.bytes, error = excluded.error, updated_at = excluded.updated_at`,
  ).run(j.id, j.productId, j.kind, j.state, j.mode, j.priority, j.detail, j.fromVersion, j.version, j.bytesTotal, j.bytesDone, JSON.stringify(j.bytes), errorText(j.error), j.createdAt, j.updatedAt)
}

export function deleteAgentJob(db: StateDb, id: string): void {
  db.prepare('DELETE FROM agent_jobs WHERE id = ?').run(id)
}

export function deleteAgentJobsOfProduct(db: StateDb, productId: string): void {
  db.prepare('DELETE FROM agent_jobs WHERE product_id = ?').run(productId)
}
