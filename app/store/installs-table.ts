// The installs table: the release each install folder holds, and the one before it (kept for
// rollback). The engine writes a row only when a switch finishes, under the folder's lock.
import type { StateDb } from './state-db.ts'

/** A row as stored; `mirrors` is a JSON array of URLs. */
export interface InstalledRow {
  readonly dir: string
  readonly product: string
  readonly version: string
  readonly manifest: Buffer
  readonly pubkey_id: string
  readonly installed_at: string
  readonly previous_version: string | null
  readonly previous_manifest: Buffer | null
  readonly product_root: string
  readonly mirrors: string
}

export function readInstalledRow(db: StateDb, installDir: string): InstalledRow | undefined {
  return db.prepare<[string], InstalledRow>('SELECT * FROM installs WHERE dir = ?').get(installDir)
}

export function installedVersion(db: StateDb, installDir: string): string | null {
  return db.prepare<[string], { version: string }>('SELECT version FROM installs WHERE dir = ?').get(installDir)?.version ?? null
}

export function installedAt(db: StateDb, installDir: string): string | null {
  return db.prepare<[string], { installed_at: string }>('SELECT installed_at FROM installs WHERE dir = ?').get(installDir)?.installed_at ?? null
}

/** Inserts the folder's row, or replaces every field of the one it has. */
export function saveInstall(db: StateDb, r: InstalledRow): void {
  db.prepare(
    `INSERT INTO installs (dir, product, version, manifest, pubkey_id, installed_at, previous_version, previous_manifest, product_root, mirrors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(dir) DO UPDATE SET product = excluded.product, version = excluded.version, manifest = excluded.manifest, pubkey_id = excluded.pubkey_id, installed_at = excluded.installed_at,
       previous_version = excluded.previous_version, previous_manifest = excluded.previous_manifest, product_root = excluded.product_root, mirrors = excluded.mirrors`,
  ).run(r.dir, r.product, r.version, r.manifest, r.pubkey_id, r.installed_at, r.previous_version, r.previous_manifest, r.product_root, r.mirrors)
}
