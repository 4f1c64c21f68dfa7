// The state database's rows for installs and jobs: what is installed where (with the version
// before it), a job's progress, and the switch that makes a staged release the installed one.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import type { Manifest } from '../../../shared/release-schema.ts'
import type { StateDb } from '../../store/state-db.ts'
import { crashPoint } from './crash-points.ts'
import type { InstallPaths } from './install-paths.ts'
import { runJournal, type SwitchOp } from './switch-journal.ts'

export interface InstalledRow {
  readonly product: string
  readonly version: string
  readonly manifest: Buffer
  readonly previous_version: string | null
  readonly previous_manifest: Buffer | null
  readonly product_root: string
  readonly mirrors: string
}

export interface JobRow {
  readonly id: number
  readonly manifest_sha256: string
  readonly done: Buffer | null
}

export interface OpenedJob {
  readonly job: JobRow
  readonly resumed: boolean
}

/** The target of a job: a verified manifest and where its chunk stores live. */
export interface JobTarget {
  readonly manifest: Manifest
  readonly productRoot: URL
  readonly mirrors: readonly URL[]
}

export function readInstalledRow(db: StateDb, installDir: string): InstalledRow | undefined {
  return db.prepare('SELECT * FROM installs WHERE dir = ?').get(installDir) as InstalledRow | undefined
}

/** Finishes a switch or rollback that a crash interrupted, then records its outcome. */
export async function recoverInstall(db: StateDb, installDir: string): Promise<void> {
  const job = db.prepare("SELECT id FROM jobs WHERE dir = ? AND phase = 'switching'").get(installDir) as { id: number } | undefined
  if (!job) return
  await runJournal(db, job.id)
  finishSwitch(db, job.id)
}

/** Records the operations, runs them through the journal, and makes the job's release the installed one. */
export async function switchIn(db: StateDb, jobId: number, ops: readonly SwitchOp[]): Promise<void> {
  crashPoint('staged')
  db.prepare("UPDATE jobs SET phase = 'switching', ops = ?, next_op = 0 WHERE id = ?").run(JSON.stringify(ops), jobId)
  await runJournal(db, jobId)
  crashPoint('switched')
  finishSwitch(db, jobId)
}

/**
 * The job for this folder and manifest: resumed when one exists for the same manifest, else
 * started afresh. The signed manifest file goes into the job's row, so the caller need not keep it.
 */
export async function openJob(db: StateDb, paths: InstallPaths, target: JobTarget, manifestFile: Buffer, pubkeyId: string, now: Date): Promise<OpenedJob> {
  const sha256 = createHash('sha256').update(manifestFile).digest('hex')
  const existing = db.prepare("SELECT id, manifest_sha256, done FROM jobs WHERE dir = ? AND phase = 'staging'").get(paths.install) as JobRow | undefined
  if (existing && existing.manifest_sha256 === sha256 && existsSync(paths.staging)) return { job: existing, resumed: true }
  db.prepare('DELETE FROM jobs WHERE dir = ?').run(paths.install)
  // Whatever an abandoned job staged belongs to another manifest: start clean.
  await rm(paths.staging, { recursive: true, force: true })
  const { manifest } = target
  const info = db
    .prepare("INSERT INTO jobs (dir, product, version, manifest, manifest_sha256, pubkey_id, phase, product_root, mirrors, created_at) VALUES (?, ?, ?, ?, ?, ?, 'staging', ?, ?, ?)")
    .run(paths.install, manifest.product, manifest.version, manifestFile, sha256, pubkeyId, target.productRoot.href, JSON.stringify(target.mirrors.map((m) => m.href)), now.toISOString())
  return { job: { id: Number(info.lastInsertRowid), manifest_sha256: sha256, done: null }, resumed: false }
}

/** Makes the job's release the installed one, and the one it replaces the previous one. */
function finishSwitch(db: StateDb, jobId: number): void {
  const job = db.prepare('SELECT * FROM jobs WHERE id = ?').get(jobId) as { dir: string; product: string; version: string; manifest: Buffer; pubkey_id: string; product_root: string; mirrors: string }
  db.transaction(() => {
    const current = readInstalledRow(db, job.dir)
    db.prepare(
      `INSERT INTO installs (dir, product, version, manifest, pubkey_id, installed_at, previous_version, previous_manifest, product_root, mirrors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(dir) DO UPDATE SET product = excluded.product, version = excluded.version, manifest = excluded.manifest, pubkey_id = excluded.pubkey_id, installed_at = excluded.installed_at,
         previous_version = excluded.previous_version, previous_manifest = excluded.previous_manifest, product_root = excluded.product_root, mirrors = excluded.mirrors`,
    ).run(job.dir, job.product, job.version, job.manifest, job.pubkey_id, new Date().toISOString(), current?.version ?? null, current?.manifest ?? null, job.product_root, job.mirrors)
    db.prepare('DELETE FROM jobs WHERE id = ?').run(jobId)
  })()
}
