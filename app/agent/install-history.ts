// The API's history: finished installs under the id of the product that owns the folder now
// (the engine records the release's product name), with totals per month.
import * as v from 'valibot'
import { historySchema, type History } from '../../shared/api-contract.ts'
import { recentHistory } from '../store/history-table.ts'
import { listProducts } from '../store/products-table.ts'
import type { StateDb } from '../store/state-db.ts'
import { uploadsByMonth } from '../store/uploads-table.ts'

/** The newest `limit` installs first; each month counts what peers saved, what the CDN sent, and what this machine uploaded. */
export function installHistory(db: StateDb, limit = 500): History {
  const productOf = new Map(listProducts(db).map((p) => [p.installDir, p.id]))
  const entries = recentHistory(db, limit).map((h) => ({ id: h.id, productId: productOf.get(h.dir) ?? h.product, fromVersion: h.fromVersion, version: h.version, finishedAt: h.finishedAt, seconds: h.seconds, bytes: h.bytes }))
  const months = new Map<string, { month: string; saved: number; cdn: number; uploaded: number }>()
  const month = (m: string) => months.get(m) ?? months.set(m, { month: m, saved: 0, cdn: 0, uploaded: 0 }).get(m)!
  for (const e of entries) {
    const m = month(e.finishedAt.slice(0, 7))
    m.saved += e.bytes.lan + e.bytes.wan
    m.cdn += e.bytes.cdn
  }
  for (const u of uploadsByMonth(db)) month(u.month).uploaded += u.bytes
  return v.parse(historySchema, { entries, monthly: [...months.values()].sort((a, b) => b.month.localeCompare(a.month)) })
}
