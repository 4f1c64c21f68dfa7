import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { ShoalError } from '../../../shared/errors.ts'

/**
 * One Shoal process per install folder, whatever its data dir: an exclusive SQLite transaction
 * held on a file beside the folder. SQLite takes it with an fcntl lock, which the kernel grants to
 * one process at a time and releases when its owner dies, so there is no stale lock to take over
 * and no race between takers. The file stays: deleting it could let a second taker lock a new
 * file while the first still holds the old one.
 */
export function lockInstallDir(lockPath: string, installDir: string): () => void {
  mkdirSync(dirname(lockPath), { recursive: true })
  const db = new Database(lockPath, { timeout: 0 })
  try {
    db.exec('BEGIN EXCLUSIVE')
  } catch (err) {
    db.close()
    if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new ShoalError('E_BUSY', `another Shoal process is working on ${installDir}`, 'wait for it to finish, or stop it')
    throw err
  }
  return () => {
    db.exec('ROLLBACK')
    db.close()
  }
}
