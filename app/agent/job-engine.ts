// What each kind of agent job runs in the engine (the same functions as the CLI), and the
// clean-up of a cancelled download. The job engine and verification load with the first job that
// needs them: an idle agent holds neither (README, "An idle agent's memory").
import type { KeyObject } from 'node:crypto'
import { rm } from 'node:fs/promises'
import type { Job } from '../../shared/api-contract.ts'
import { installPaths, loadJobs, loadVerify, type JobOptions, type JobResult } from '../engine/engine.ts'
import { deleteStagingJob } from '../store/jobs-table.ts'
import type { StateDb } from '../store/state-db.ts'

export interface EngineRun {
  /** What a download or repair moved; undefined when nothing was fetched. */
  readonly result: JobResult | undefined
  /** The versions a rollback went between. */
  readonly rolledBack?: { readonly version: string; readonly fromVersion: string }
}

export async function runJobKind(kind: Job['kind'], channelUrl: string, publicKey: KeyObject, options: JobOptions): Promise<EngineRun> {
  const { getRelease, repairInstall, rollbackInstall } = await loadJobs()
  if (kind === 'install' || kind === 'update') return { result: await getRelease({ ...options, pointerUrl: new URL(channelUrl), allowDowngrade: false }) }
  if (kind === 'rollback') {
    const r = await rollbackInstall(options)
    return { result: undefined, rolledBack: { version: r.version, fromVersion: r.fromVersion } }
  }
  const { verifyInstall } = await loadVerify()
  const report = await verifyInstall(options.db, options.installDir, publicKey)
  if (report.damaged.length === 0 && report.extra.length === 0) return { result: undefined }
  return { result: await repairInstall(options) }
}

/** A cancelled download drops what it staged; a paused one keeps it to resume. */
export async function discardStaging(db: StateDb, installDir: string): Promise<void> {
  const paths = installPaths(installDir)
  deleteStagingJob(db, paths.install)
  await rm(paths.staging, { recursive: true, force: true })
}
