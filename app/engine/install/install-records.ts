// An install's records in the state database: a job's row while it stages, and the switch that
// makes a staged release the installed one (with the version before it kept).
import { createHash, type KeyObject } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readdir, rm } from 'node:fs/promises'
import { ShoalError } from '../../../shared/errors.ts'
import type { Manifest } from '../../../shared/release-schema.ts'
import { decodeManifest } from '../../release/manifest-codec.ts'
import { readInstalledRow, saveInstall, type InstalledRow } from '../../store/installs-table.ts'
import { deleteJob, deleteJobOfDir, insertJob, jobRelease, stagingJob, startSwitch, switchingJobId, type StagingJob } from '../../store/jobs-table.ts'
import type { StateDb } from '../../store/state-db.ts'
import { crashPoint } from './crash-points.ts'
import type { InstallPaths } from './install-paths.ts'
import { runJournal, type SwitchOp } from './switch-journal.ts'
import { writeReleaseRecord } from './release-record.ts'

export interface OpenedJob {
  readonly job: StagingJob
  readonly resumed: boolean
}

/** The target of a job: a verified manifest and where its chunk stores live. */
export interface JobTarget {
  readonly manifest: Manifest
  readonly productRoot: URL
  readonly mirrors: readonly URL[]
}

/** Finishes a switch or rollback that a crash interrupted, then records its outcome. */
export async function recoverInstall(db: StateDb, installDir: string): Promise<void> {
  const jobId = switchingJobId(db, installDir)
  if (jobId === undefined) return
  await runJournal(db, jobId)
  await writeReleaseRecord(db, finishSwitch(db, jobId))
}

/** Records the operations, runs them through the journal, and makes the job's release the installed one. */
export async function switchIn(db: StateDb, jobId: number, ops: readonly SwitchOp[]): Promise<void> {
  crashPoint('staged')
  startSwitch(db, jobId, JSON.stringify(ops))
  await runJournal(db, jobId)
  crashPoint('switched')
  await writeReleaseRecord(db, finishSwitch(db, jobId))
}

/**
 * The job for this folder and manifest: resumed when one exists for the same manifest, else
 * started afresh. The signed manifest file goes into the job's row, so the caller need not keep it.
 */
export async function openJob(db: StateDb, paths: InstallPaths, target: JobTarget, manifestFile: Buffer, pubkeyId: string, now: Date): Promise<OpenedJob> {
  const sha256 = createHash('sha256').update(manifestFile).digest('hex')
  const existing = stagingJob(db, paths.install)
  if (existing && existing.manifest_sha256 === sha256 && existsSync(paths.staging)) return { job: existing, resumed: true }
  deleteJobOfDir(db, paths.install)
  // Whatever an abandoned job staged belongs to another manifest: start clean.
  await rm(paths.staging, { recursive: true, force: true })
  const { manifest } = target
  const id = insertJob(db, {
    dir: paths.install,
    product: manifest.product,
    version: manifest.version,
    manifest: manifestFile,
    manifest_sha256: sha256,
    pubkey_id: pubkeyId,
    phase: 'staging',
    product_root: target.productRoot.href,
    mirrors: JSON.stringify(target.mirrors.map((m) => m.href)),
    created_at: now.toISOString(),
  })
  return { job: { id, manifest_sha256: sha256, done: null }, resumed: false }
}

/** Makes the job's release the installed one, and the one it replaces the previous one; returns the install folder. */
function finishSwitch(db: StateDb, jobId: number): string {
  const job = jobRelease(db, jobId)
  db.transaction(() => {
    const current = readInstalledRow(db, job.dir)
    saveInstall(db, { ...job, installed_at: new Date().toISOString(), previous_version: current?.version ?? null, previous_manifest: current?.manifest ?? null })
    deleteJob(db, jobId)
  })()
  return job.dir
}

/** The installed version's manifest, signature checked again before any of its chunks is trusted. */
export async function installedManifest(row: InstalledRow | undefined, paths: InstallPaths, publicKey: KeyObject, product: string): Promise<Manifest | undefined> {
  if (!row) {
    const entries = existsSync(paths.install) ? await readdir(paths.install) : []
    if (entries.length > 0) throw new ShoalError('E_NOT_INSTALLED', `${paths.install} is not empty and holds no Shoal install`, 'choose an empty or new folder; Shoal never writes over files it does not own')
    return undefined
  }
  if (row.product !== product) throw new ShoalError('E_USAGE', `${paths.install} holds ${row.product}, not ${product}`, 'choose another folder')
  return decodeManifest(row.manifest, publicKey, `installed manifest of ${paths.install}`)
}

/** The installed manifest when it verifies; undefined otherwise (installedManifest then says why). */
export function installedIfValid(stored: Buffer, publicKey: KeyObject): Manifest | undefined {
  try {
    return decodeManifest(stored, publicKey, 'installed manifest')
  } catch {
    return undefined
  }
}
