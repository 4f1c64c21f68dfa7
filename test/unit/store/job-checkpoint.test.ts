import { describe, expect, it } from 'vitest'
import { openStateDb } from '../../../app/store/state-db.ts'
import { checkpointStatement, insertJob, stagingJob } from '../../../app/store/jobs-table.ts'
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
})
