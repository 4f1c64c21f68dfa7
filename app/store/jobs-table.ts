// The jobs table: at most one engine job per install folder (a download, repair or rollback),
// with its signed manifest and, once it switches, the journal of file operations and how many
// of them are done; and job_progress: the chunks a staging job has placed so far. Finishing a switch turns the row into the folder's
// installs row (engine/install/install-records.ts, in one transaction).
import type { StateDb } from './state-db.ts'

/** `rolling-back` jobs stage nothing: their release is the kept previous version. */
export type JobPhase = 'staging' | 'switching' | 'rolling-back'

/** What resuming a download needs from its row. */
export interface StagingJob {
  readonly id: number
  readonly manifest_sha256: string
  readonly done: Buffer | null
}

/** The release a job brings; `mirrors` is a JSON array of URLs. */
export interface JobRelease {
  readonly dir: string
  readonly product: string
  readonly version: string
  readonly manifest: Buffer
  readonly pubkey_id: string
  readonly product_root: string
  readonly mirrors: string
}

export interface NewJob extends JobRelease {
  readonly manifest_sha256: string
  readonly phase: JobPhase
  readonly created_at: string
}

/** The switch's operations (JSON) and the index of the first one not yet done. */
export interface JobJournal {
  readonly ops: string
  readonly next_op: number
}

export function stagingJob(db: StateDb, installDir: string): StagingJob | undefined {
  return db.prepare<[string], StagingJob>("SELECT j.id, j.manifest_sha256, p.done FROM jobs j LEFT JOIN job_progress p ON p.job_id = j.id WHERE j.dir = ? AND j.phase = 'staging'").get(installDir)
}

export function switchingJobId(db: StateDb, installDir: string): number | undefined {
  return db.prepare<[string], { id: number }>("SELECT id FROM jobs WHERE dir = ? AND phase = 'switching'").get(installDir)?.id
}

/** Returns the new job's id. */
export function insertJob(db: StateDb, j: NewJob): number {
  const info = db
    .prepare('INSERT INTO jobs (dir, product, version, manifest, manifest_sha256, pubkey_id, phase, product_root, mirrors, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
    .run(j.dir, j.product, j.version, j.manifest, j.manifest_sha256, j.pubkey_id, j.phase, j.product_root, j.mirrors, j.created_at)
  return Number(info.lastInsertRowid)
}

export function jobRelease(db: StateDb, jobId: number): JobRelease {
  return db.prepare<[number], JobRelease>('SELECT dir, product, version, manifest, pubkey_id, product_root, mirrors FROM jobs WHERE id = ?').get(jobId)!
}

/**
 * Saves a staging job's done bits. Prepared once per job: the stager checkpoints up to once a
 * second for the whole download. Committed without an fsync (SQLite's `synchronous = NORMAL`
 * for this one write): the commit survives a killed process at once and a power loss from the
 * WAL's next sync. An fsync here, while the download fills the page cache, took about 40 ms of
 * the main thread per checkpoint (0.5 s per GiB), and what it would protect is only the work of
 * the last seconds: chunks it misses are fetched again, and every staged file is checked whole.
 */
export function checkpointStatement(db: StateDb): { run(done: Buffer, jobId: number): unknown } {
  const save = db.prepare<[number, Buffer]>('INSERT INTO job_progress (job_id, done) VALUES (?, ?) ON CONFLICT (job_id) DO UPDATE SET done = excluded.done')
  return {
    run: (done, jobId) => {
      db.pragma('synchronous = NORMAL')
      try {
        return save.run(jobId, done)
      } finally {
        db.pragma('synchronous = FULL')
      }
    },
  }
}

/** Records the switch's operations; from here a crash is finished by replaying them. */
export function startSwitch(db: StateDb, jobId: number, ops: string): void {
  db.prepare("UPDATE jobs SET phase = 'switching', ops = ?, next_op = 0 WHERE id = ?").run(ops, jobId)
}

export function journal(db: StateDb, jobId: number): JobJournal {
  return db.prepare<[number], JobJournal>('SELECT ops, next_op FROM jobs WHERE id = ?').get(jobId)!
}

/** Commits that the operations before `nextOp` are done. */
export function advanceJournal(db: StateDb, jobId: number, nextOp: number): void {
  db.prepare('UPDATE jobs SET next_op = ? WHERE id = ?').run(nextOp, jobId)
}

export function deleteJob(db: StateDb, jobId: number): void {
  deleteJobsWhere(db, 'id = ?', jobId)
}

/** Drops the folder's job, whatever its phase. */
export function deleteJobOfDir(db: StateDb, installDir: string): void {
  deleteJobsWhere(db, 'dir = ?', installDir)
}

/** Drops the folder's download, if one is staging; a job already switching stays. */
export function deleteStagingJob(db: StateDb, installDir: string): void {
  deleteJobsWhere(db, "dir = ? AND phase = 'staging'", installDir)
}

/** Deletes the jobs `where` selects, with their progress, in one transaction. */
function deleteJobsWhere(db: StateDb, where: string, value: string | number): void {
  db.transaction(() => {
    db.prepare(`DELETE FROM job_progress WHERE job_id IN (SELECT id FROM jobs WHERE ${where})`).run(value)
    db.prepare(`DELETE FROM jobs WHERE ${where}`).run(value)
  })()
}
