// The verified_files table: the identity (storage/file-identity.ts) each file of an install had
// when the switch that installed it had checked its SHA-256. A seeder trusts a piece whose files
// still have these identities, as it trusts a piece it hashed itself (install-piece-store.ts).
import type { StateDb } from './state-db.ts'

/** Replaces what is recorded for the install folder `dir` with `files` (absolute path → identity). */
export function saveVerifiedFiles(db: StateDb, dir: string, files: ReadonlyMap<string, string>): void {
  const insert = db.prepare<[string, string, string]>('INSERT INTO verified_files (dir, path, identity) VALUES (?, ?, ?)')
  db.transaction(() => {
    forgetVerifiedFiles(db, dir)
    for (const [path, identity] of files) insert.run(dir, path, identity)
  })()
}

export function forgetVerifiedFiles(db: StateDb, dir: string): void {
  db.prepare('DELETE FROM verified_files WHERE dir = ?').run(dir)
}

/** The files of `dir` recorded as verified: absolute path → identity. */
export function verifiedFiles(db: StateDb, dir: string): Map<string, string> {
  const rows = db.prepare<[string], { path: string; identity: string }>('SELECT path, identity FROM verified_files WHERE dir = ?').all(dir)
  return new Map(rows.map((r) => [r.path, r.identity]))
}
