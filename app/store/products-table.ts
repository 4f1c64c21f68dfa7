// The products table: what the agent keeps current, one row per install folder.
import type { ErrorInfo } from '../../shared/api-contract.ts'
import { errorText, parseErrorText } from './error-column.ts'
import type { StateDb } from './state-db.ts'

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

/** In the order they were added. */
export function listProducts(db: StateDb): ProductRow[] {
  return db
    .prepare<[], RawProduct>('SELECT * FROM products ORDER BY created_at, id')
    .all()
    .map((r) => ({
      id: r.id,
      name: r.name,
      channelUrl: r.channel_url,
      publicKey: r.public_key,
      installDir: r.install_dir,
      mirrors: JSON.parse(r.mirrors) as string[],
      availableVersion: r.available_version,
      state: r.state,
      error: parseErrorText(r.error),
      lastCheckAt: r.last_check_at,
    }))
}

/** Inserts the product (added `now`) or updates every field of its row but when it was added. */
export function saveProduct(db: StateDb, p: ProductRow, now: Date): void {
  db.prepare(
    `INSERT INTO products (id, name, channel_url, public_key, install_dir, mirrors, available_version, state, error, last_check_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(id) DO UPDATE SET name = excluded.name, channel_url = excluded.channel_url, public_key = excluded.public_key, install_dir = excluded.install_dir, mirrors = excluded.mirrors,
       available_version = excluded.available_version, state = excluded.state, error = excluded.error, last_check_at = excluded.last_check_at`,
  ).run(p.id, p.name, p.channelUrl, p.publicKey, p.installDir, JSON.stringify(p.mirrors), p.availableVersion, p.state, errorText(p.error), p.lastCheckAt, now.toISOString())
}

export function deleteProduct(db: StateDb, id: string): void {
  db.prepare('DELETE FROM products WHERE id = ?').run(id)
}
