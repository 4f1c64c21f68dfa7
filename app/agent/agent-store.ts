// The agent's rows in the state database: products, settings, its job queue, upload
// totals, and the history the engine writes after every install.
import { z } from 'zod'
import { historySchema, settingsSchema, sourceBytesSchema, type ErrorInfo, type History, type Job, type Settings } from '../../shared/api-contract.ts'
import type { StateDb } from '../store/state-db.ts'
import { DEFAULT_SETTINGS } from '../policy/settings-merge.ts'

export interface ProductRow {
  readonly id: string
  readonly name: string
  readonly channelUrl: string
  readonly publicKey: string
  readonly installDir: string
  readonly mirrors: readonly string[]
  availableVersion: string | null
  state: 'idle' | 'checking' | 'update-available' | 'up-to-date' | 'error'
  error: ErrorInfo | null
  lastCheckAt: string | null
}

interface RawProduct {
  id: string
  name: string
  channel_url: string
  public_key: string
  install_dir: string
  mirrors: string
  available_version: string | null
  state: ProductRow['state']
  error: string | null
  last_check_at: string | null
}

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

const errorJson = z.object({ code: z.string(), message: z.string() })
const parseError = (text: string | null): ErrorInfo | null => (text ? errorJson.parse(JSON.parse(text)) : null)

export class AgentStore {
  private readonly db: StateDb

  constructor(db: StateDb) {
    this.db = db
  }

  products(): ProductRow[] {
    return (this.db.prepare('SELECT * FROM products ORDER BY created_at, id').all() as RawProduct[]).map((r) => ({
      id: r.id,
      name: r.name,
      channelUrl: r.channel_url,
      publicKey: r.public_key,
      installDir: r.install_dir,
      mirrors: JSON.parse(r.mirrors) as string[],
      availableVersion: r.available_version,
      state: r.state,
      error: parseError(r.error),
      lastCheckAt: r.last_check_at,
    }))
  }

  saveProduct(p: ProductRow, now: Date): void {
    this.db
      .prepare(
        `INSERT INTO products (id, name, channel_url, public_key, install_dir, mirrors, available_version, state, error, last_check_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, channel_url = excluded.channel_url, public_key = excluded.public_key, install_dir = excluded.install_dir, mirrors = excluded.mirrors,
           available_version = excluded.available_version, state = excluded.state, error = excluded.error, last_check_at = excluded.last_check_at`,
      )
      .run(p.id, p.name, p.channelUrl, p.publicKey, p.installDir, JSON.stringify(p.mirrors), p.availableVersion, p.state, p.error ? JSON.stringify(p.error) : null, p.lastCheckAt, now.toISOString())
  }

  removeProduct(id: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM products WHERE id = ?').run(id)
      this.db.prepare('DELETE FROM agent_jobs WHERE product_id = ?').run(id)
    })()
  }

  installedVersion(installDir: string): string | null {
    const row = this.db.prepare('SELECT version FROM installs WHERE dir = ?').get(installDir) as { version: string } | undefined
    return row?.version ?? null
  }

  installedAt(installDir: string): string | null {
    const row = this.db.prepare('SELECT installed_at FROM installs WHERE dir = ?').get(installDir) as { installed_at: string } | undefined
    return row?.installed_at ?? null
  }

  /** The user's own settings (defaults until changed); the managed policy is layered on top elsewhere. */
  userSettings(): Settings {
    const row = this.db.prepare("SELECT value FROM settings WHERE key = 'user'").get() as { value: string } | undefined
    if (!row) return DEFAULT_SETTINGS
    const parsed = settingsSchema.safeParse(JSON.parse(row.value))
    return parsed.success ? parsed.data : DEFAULT_SETTINGS
  }

  saveUserSettings(s: Settings): void {
    this.db.prepare("INSERT INTO settings (key, value) VALUES ('user', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(JSON.stringify(s))
  }

  jobs(): Job[] {
    return (this.db.prepare('SELECT * FROM agent_jobs ORDER BY created_at, id').all() as RawJob[]).map((r) => {
      const bytes = sourceBytesSchema.parse(JSON.parse(r.bytes))
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
        error: parseError(r.error),
        createdAt: r.created_at,
        updatedAt: r.updated_at,
      }
    })
  }

  saveJob(j: Job): void {
    this.db
      .prepare(
        `INSERT INTO agent_jobs (id, product_id, kind, state, mode, priority, detail, from_version, version, bytes_total, bytes_done, bytes, error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET state = excluded.state, mode = excluded.mode, priority = excluded.priority, detail = excluded.detail, from_version = excluded.from_version, version = excluded.version,
           bytes_total = excluded.bytes_total, bytes_done = excluded.bytes_done, bytes = excluded.bytes, error = excluded.error, updated_at = excluded.updated_at`,
      )
      .run(j.id, j.productId, j.kind, j.state, j.mode, j.priority, j.detail, j.fromVersion, j.version, j.bytesTotal, j.bytesDone, JSON.stringify(j.bytes), j.error ? JSON.stringify(j.error) : null, j.createdAt, j.updatedAt)
  }

  deleteJob(id: string): void {
    this.db.prepare('DELETE FROM agent_jobs WHERE id = ?').run(id)
  }

  addUploaded(month: string, bytes: number): void {
    if (bytes <= 0) return
    this.db.prepare('INSERT INTO uploads (month, bytes) VALUES (?, ?) ON CONFLICT(month) DO UPDATE SET bytes = bytes + excluded.bytes').run(month, bytes)
  }

  uploaded(month: string): number {
    const row = this.db.prepare('SELECT bytes FROM uploads WHERE month = ?').get(month) as { bytes: number } | undefined
    return row?.bytes ?? 0
  }

  /** Finished installs (newest first) with the product id of the folder, and totals per month. */
  history(limit = 500): History {
    const rows = this.db
      .prepare('SELECT h.id, COALESCE(p.id, h.product) AS product_id, h.from_version, h.version, h.finished_at, h.seconds, h.bytes FROM history h LEFT JOIN products p ON p.install_dir = h.dir ORDER BY h.id DESC LIMIT ?')
      .all(limit) as { id: number; product_id: string; from_version: string | null; version: string; finished_at: string; seconds: number; bytes: string }[]
    const entries = rows.map((r) => {
      const b = JSON.parse(r.bytes) as Partial<Record<'cdn' | 'lan' | 'wan' | 'local' | 'wasted', number>>
      return { id: r.id, productId: r.product_id, fromVersion: r.from_version, version: r.version, finishedAt: r.finished_at, seconds: r.seconds, bytes: { cdn: b.cdn ?? 0, lan: b.lan ?? 0, wan: b.wan ?? 0, local: b.local ?? 0, wasted: b.wasted ?? 0 } }
    })
    const months = new Map<string, { month: string; saved: number; cdn: number; uploaded: number }>()
    const month = (m: string) => months.get(m) ?? months.set(m, { month: m, saved: 0, cdn: 0, uploaded: 0 }).get(m)!
    for (const e of entries) {
      const m = month(e.finishedAt.slice(0, 7))
      m.saved += e.bytes.lan + e.bytes.wan
      m.cdn += e.bytes.cdn
    }
    for (const u of this.db.prepare('SELECT month, bytes FROM uploads').all() as { month: string; bytes: number }[]) month(u.month).uploaded += u.bytes
    return historySchema.parse({ entries, monthly: [...months.values()].sort((a, b) => b.month.localeCompare(a.month)) })
  }
}
