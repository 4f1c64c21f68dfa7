// An exclusive SQLite transaction held on a file, as a lock between processes: SQLite takes it
// with an fcntl lock, which the kernel grants to one process at a time and releases when its
// owner dies. Here because app/store/ is the one folder that runs SQL.
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'

/** Takes the lock on `path` (created if missing) and returns its release; undefined while another process holds it. */
export function holdFileLock(path: string): (() => void) | undefined {
  mkdirSync(dirname(path), { recursive: true })
  const db = new Database(path, { timeout: 0 })
  try {
    db.exec('BEGIN EXCLUSIVE')
  } catch (err) {
    db.close()
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return undefined
    throw err
  }
  return () => {
    db.exec('ROLLBACK')
    db.close()
  }
}
