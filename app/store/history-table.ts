// The history table: one row per download or repair the engine switched in (rollbacks add
// none), read back by the agent's history view.
import type { ApiSourceBytes } from '../../shared/api-contract.ts'
import type { StateDb } from './state-db.ts'

export interface HistoryRow {
  readonly id: number
  readonly dir: string
  readonly product: string
  readonly fromVersion: string | null
  readonly version: string
  readonly finishedAt: string
  readonly seconds: number
  readonly bytes: ApiSourceBytes
}

export function addHistory(db: StateDb, h: Omit<HistoryRow, 'id'>): void {
  db.prepare('INSERT INTO history (dir, product, from_version, version, finished_at, seconds, bytes) VALUES (?, ?, ?, ?, ?, ?, ?)').run(h.dir, h.product, h.fromVersion, h.version, h.finishedAt, h.seconds, JSON.stringify(h.bytes))
}

interface RawHistory {
  id: number
  dir: string
  product: string
  from_version: string | null
  version: string
  finished_at: string
  seconds: number
  bytes: string
}

/** The newest `limit` rows first. */
export function recentHistory(db: StateDb, limit: number): HistoryRow[] {
  return db
    .prepare<[number], RawHistory>('SELECT id, dir, product, from_version, version, finished_at, seconds, bytes FROM history ORDER BY id DESC LIMIT ?')
    .all(limit)
    .map((r) => {
      // A source class the row lacks counts as zero.
      const b = JSON.parse(r.bytes) as Partial<ApiSourceBytes>
      return { id: r.id, dir: r.dir, product: r.product, fromVersion: r.from_version, version: r.version, finishedAt: r.finished_at, seconds: r.seconds, bytes: { cdn: b.cdn ?? 0, lan: b.lan ?? 0, wan: b.wan ?? 0, local: b.local ?? 0, wasted: b.wasted ?? 0 } }
    })
}
