// `shoal get`: resolve a channel, plan against the installed version, stage the
// new version, and switch it in through the journal. State lives in the data dir;
// the install folder only ever holds a complete release.
import { createHash, type KeyObject } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readdir, rm, statfs } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import semver from 'semver'
import { ShoalError } from '../../../shared/errors.ts'
import type { Manifest } from '../../../shared/release-schema.ts'
import { decodeManifest } from '../../release/manifest-codec.ts'
import { resolveRelease } from '../../release/resolve.ts'
import { keyId } from '../../release/signing.ts'
import { WorkerPool } from '../../release/worker-pool.ts'
import type { StateDb } from '../../store/state-db.ts'
import { CdnSource } from '../sources/cdn-source.ts'
import type { RetryPolicy } from '../sources/retry-policy.ts'
import { emptySourceBytes, type SourceBytes } from '../stats/source-bytes.ts'
import { createBitfield, hasBit } from './bitfield.ts'
import { lockInstallDir } from './dir-lock.ts'
import { planInstall, type InstallPlan } from './install-plan.ts'
import type { PlacementResult, PlacementTask } from './placement-tasks.ts'
import { Stager } from './stager.ts'
import { installOps, runJournal } from './switch-journal.ts'

export interface GetOptions {
  readonly pointerUrl: URL
  readonly publicKey: KeyObject
  readonly installDir: string
  readonly dataDir: string
  readonly db: StateDb
  /** Extra product-root URLs used beside the pointer's own location and mirrors. */
  readonly mirrors: readonly URL[]
  readonly limitDown: number
  readonly connections: number
  readonly allowDowngrade: boolean
  readonly stallMs?: number
  readonly retry?: RetryPolicy
  readonly now: () => Date
  readonly onProgress?: (p: GetProgress) => void
}

export interface GetProgress {
  readonly done: number
  readonly total: number
  readonly bytes: SourceBytes
}

export interface GetResult {
  readonly product: string
  readonly version: string
  readonly fromVersion: string | undefined
  readonly upToDate: boolean
  readonly resumed: boolean
  readonly bytes: SourceBytes
  readonly totalBytes: number
  readonly seconds: number
}

/** Defaults chosen by `npm run bench` (README, "CDN engine"). */
export const DEFAULT_CONNECTIONS = 4
export const RANGE_OPTIONS = { maxGap: 64 * 1024, maxRange: 8 * 1024 * 1024 }
const FREE_SPACE_MARGIN = 64 * 1024 * 1024

export interface InstallPaths {
  readonly install: string
  readonly staging: string
  readonly backup: string
  readonly aside: string
}

/** Staging and backup sit next to the install, on the same file system, never inside it. */
export function installPaths(dir: string): InstallPaths {
  const install = resolve(dir)
  const parent = dirname(install)
  const name = basename(install)
  return { install, staging: join(parent, `.${name}.shoal-staging`), backup: join(parent, `.${name}.shoal-previous`), aside: join(parent, `.${name}.shoal-aside`) }
}

interface InstalledRow {
  product: string
  version: string
  manifest: Buffer
}

interface JobRow {
  id: number
  version: string
  manifest: Buffer
  manifest_sha256: string
  phase: string
  done: Buffer | null
}

/** Finishes a switch or rollback that a crash interrupted, then records its outcome. */
export async function recoverInstall(db: StateDb, installDir: string): Promise<void> {
  const job = db.prepare("SELECT id, phase FROM jobs WHERE dir = ? AND phase IN ('switching', 'rolling-back')").get(installDir) as { id: number; phase: string } | undefined
  if (!job) return
  await runJournal(db, job.id)
  finishSwitch(db, job.id)
}

function finishSwitch(db: StateDb, jobId: number): void {
  const job = db.prepare('SELECT * FROM jobs WHERE id = ?').get(jobId) as JobRow & { dir: string; product: string; pubkey_id: string; created_at: string; phase: string }
  db.transaction(() => {
    const current = db.prepare('SELECT version, manifest FROM installs WHERE dir = ?').get(job.dir) as { version: string; manifest: Buffer } | undefined
    db.prepare(
      `INSERT INTO installs (dir, product, version, manifest, pubkey_id, installed_at, previous_version, previous_manifest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(dir) DO UPDATE SET product = excluded.product, version = excluded.version, manifest = excluded.manifest, pubkey_id = excluded.pubkey_id,
         installed_at = excluded.installed_at, previous_version = excluded.previous_version, previous_manifest = excluded.previous_manifest`,
    ).run(job.dir, job.product, job.version, job.manifest, job.pubkey_id, new Date().toISOString(), current?.version ?? null, current?.manifest ?? null)
    db.prepare('DELETE FROM jobs WHERE id = ?').run(jobId)
  })()
}

async function checkFreeSpace(parent: string, plan: InstallPlan, done: Uint8Array, m: Manifest): Promise<void> {
  let needed = FREE_SPACE_MARGIN
  for (const [chunk, targets] of plan.targets) if (!hasBit(done, chunk)) needed += m.chunks.size[chunk]! * targets.length
  const fs = await statfs(parent)
  const free = fs.bavail * fs.bsize
  if (free < needed) {
    throw new ShoalError('E_NO_SPACE', `staging needs ${needed} bytes (including a ${FREE_SPACE_MARGIN}-byte margin) on ${parent}, but only ${free} are free`, `free at least ${needed - free} bytes and run again`)
  }
}

function readInstalledFile(db: StateDb, paths: InstallPaths): InstalledRow | undefined {
  return db.prepare('SELECT product, version, manifest FROM installs WHERE dir = ?').get(paths.install) as InstalledRow | undefined
}

/** The installed version's manifest, signature checked again before any of its chunks is trusted. */
async function readInstalled(row: InstalledRow | undefined, paths: InstallPaths, publicKey: KeyObject, product: string): Promise<Manifest | undefined> {
  if (!row) {
    const entries = existsSync(paths.install) ? await readdir(paths.install) : []
    if (entries.length > 0) throw new ShoalError('E_NOT_INSTALLED', `${paths.install} is not empty and holds no Shoal install`, 'choose an empty or new folder; Shoal never writes over files it does not own')
    return undefined
  }
  if (row.product !== product) throw new ShoalError('E_USAGE', `${paths.install} holds ${row.product}, not ${product}`, 'choose another folder')
  return decodeManifest(row.manifest, publicKey, `installed manifest of ${paths.install}`)
}

/** Installs or updates `installDir` to the channel's current release. */
export async function getRelease(o: GetOptions): Promise<GetResult> {
  const started = performance.now()
  const paths = installPaths(o.installDir)
  const unlock = lockInstallDir(o.dataDir, paths.install)
  try {
    await recoverInstall(o.db, paths.install)
    const release = await resolveRelease(o.pointerUrl, o.publicKey, o.now())
    const { manifest, pointer } = release
    const installedFile = readInstalledFile(o.db, paths)
    const installed = await readInstalled(installedFile, paths, o.publicKey, manifest.product)
    if (installed && semver.lt(manifest.version, installed.version) && !o.allowDowngrade) {
      throw new ShoalError('E_ROLLBACK', `${paths.install} has ${installed.version}; the channel offers ${manifest.version}, a downgrade`, 'pass --allow-downgrade to install it anyway')
    }
    const installedSha256 = installedFile && createHash('sha256').update(installedFile.manifest).digest('hex')
    if (installedSha256 === pointer.manifest.sha256) {
      const seconds = (performance.now() - started) / 1000
      return { product: manifest.product, version: manifest.version, fromVersion: installed!.version, upToDate: true, resumed: false, bytes: emptySourceBytes(), totalBytes: manifest.totals.bytes, seconds }
    }

    const { job, resumed } = await openJob(o, paths, manifest, release.manifestFile, pointer.manifest.sha256)
    const plan = planInstall(manifest, installed)
    const done = job.done ? Uint8Array.from(job.done) : createBitfield(manifest.chunks.size.length)
    await checkFreeSpace(dirname(paths.install), plan, done, manifest)

    const bytes = emptySourceBytes()
    let placed = 0
    for (const [chunk, targets] of plan.targets) if (hasBit(done, chunk)) placed += manifest.chunks.size[chunk]! * targets.length
    const report = () => o.onProgress?.({ done: placed, total: plan.totalBytes, bytes: { ...bytes } })
    const cdn = new CdnSource({
      mirrors: [release.productRoot, ...pointer.mirrors.map((m) => new URL(m)), ...o.mirrors],
      connections: o.connections,
      stallMs: o.stallMs ?? 15_000,
      limitDown: o.limitDown,
      ...(o.retry ? { retry: o.retry } : {}),
      onBytes: (n) => {
        bytes.cdn += n
        report()
      },
    })
    const workers = new WorkerPool<PlacementTask, PlacementResult>(new URL('./placement-worker.ts', import.meta.url), Math.max(1, availableParallelism()))
    const persist = o.db.prepare('UPDATE jobs SET done = ? WHERE id = ?')
    try {
      await new Stager({
        manifest,
        plan,
        installDir: paths.install,
        stagingDir: paths.staging,
        done,
        cdn,
        workers,
        ranges: RANGE_OPTIONS,
        parallel: o.connections,
        persist: (snapshot) => persist.run(Buffer.from(snapshot), job.id),
        onPlaced: (from, n) => {
          placed += n
          if (from === 'local') bytes.local += n
          report()
        },
      }).run()
    } finally {
      await Promise.all([cdn.close(), workers.close()])
    }

    const ops = installOps(paths.install, paths.staging, paths.backup, installed !== undefined)
    o.db.prepare("UPDATE jobs SET phase = 'switching', ops = ?, next_op = 0 WHERE id = ?").run(JSON.stringify(ops), job.id)
    await runJournal(o.db, job.id)
    finishSwitch(o.db, job.id)
    const seconds = (performance.now() - started) / 1000
    o.db.prepare('INSERT INTO history (dir, product, from_version, version, finished_at, seconds, bytes) VALUES (?, ?, ?, ?, ?, ?, ?)').run(paths.install, manifest.product, installed?.version ?? null, manifest.version, o.now().toISOString(), seconds, JSON.stringify(bytes))
    return { product: manifest.product, version: manifest.version, fromVersion: installed?.version, upToDate: false, resumed, bytes, totalBytes: plan.totalBytes, seconds }
  } finally {
    unlock()
  }
}

/** The job for this folder and manifest: resumed when one exists for the same manifest, else started afresh. */
async function openJob(o: GetOptions, paths: InstallPaths, manifest: Manifest, manifestFile: Buffer, sha256: string): Promise<{ job: JobRow; resumed: boolean }> {
  const existing = o.db.prepare('SELECT id, version, manifest, manifest_sha256, phase, done FROM jobs WHERE dir = ?').get(paths.install) as JobRow | undefined
  if (existing && existing.manifest_sha256 === sha256 && existsSync(paths.staging)) return { job: existing, resumed: true }
  o.db.prepare('DELETE FROM jobs WHERE dir = ?').run(paths.install)
  // Whatever an abandoned job staged belongs to another manifest: start clean.
  await rm(paths.staging, { recursive: true, force: true })
  const info = o.db
    .prepare("INSERT INTO jobs (dir, product, version, manifest, manifest_sha256, pubkey_id, phase, created_at) VALUES (?, ?, ?, ?, ?, ?, 'staging', ?)")
    .run(paths.install, manifest.product, manifest.version, manifestFile, sha256, keyId(o.publicKey), o.now().toISOString())
  return { job: { id: Number(info.lastInsertRowid), version: manifest.version, manifest: manifestFile, manifest_sha256: sha256, phase: 'staging', done: null }, resumed: false }
}
