import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { MIGRATIONS, openStateDb } from '../../../app/store/state-db.ts'
import { checkpointStatement, deleteJobOfDir, insertJob, stagingJob } from '../../../app/store/jobs-table.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()
/** SQLite's numbers for `synchronous`. */
const FULL = 2

describe('a staging job checkpoint', () => {
  it('saves the done bits and leaves every other write synchronous (FULL)', async () => {
    const db = openStateDb(await tempDir())
    try {
      const id = insertJob(db, { dir: '/games/x', product: 'x', version: '1.0.0', manifest: Buffer.from('{}'), manifest_sha256: 'ab', pubkey_id: 'k', phase: 'staging', product_root: 'http://127.0.0.1/x', mirrors: '[]', created_at: new Date(0).toISOString() })
      const checkpoint = checkpointStatement(db)
      checkpoint.run(Buffer.from([0b101]), id)
      expect(stagingJob(db, '/games/x')?.done).toEqual(Buffer.from([0b101]))
      // The switch journal's commits must survive a power loss.
      expect(db.pragma('synchronous', { simple: true })).toBe(FULL)
      // A write that fails (here a value SQLite cannot bind) restores it too.
      expect(() => checkpoint.run(Buffer.from([1]), {} as unknown as number)).toThrow()
      expect(db.pragma('synchronous', { simple: true })).toBe(FULL)
    } finally {
      db.close()
    }
  })

  it('survives the move of the done bits out of the jobs row, and goes with its job', async () => {
    const dir = await tempDir()
    // A state database as the first schema left it, with a download half done.
    const old = new Database(join(dir, 'shoal.db'))
    old.exec(MIGRATIONS[0]!)
    old.pragma('user_version = 1')
    old
      .prepare("INSERT INTO jobs (dir, product, version, manifest, manifest_sha256, pubkey_id, phase, done, product_root, mirrors, created_at) VALUES ('/games/y', 'y', '1.0.0', x'7b7d', 'ab', 'k', 'staging', x'0f', 'http://127.0.0.1/y', '[]', '1970-01-01T00:00:00.000Z')")
      .run()
    old.close()
    const db = openStateDb(dir)
    try {
      const job = stagingJob(db, '/games/y')
      expect(job?.done).toEqual(Buffer.from([0x0f]))
      deleteJobOfDir(db, '/games/y')
      expect(db.prepare('SELECT COUNT(*) AS n FROM job_progress').get()).toEqual({ n: 0 })
    } finally {
      db.close()
    }
  })
})
