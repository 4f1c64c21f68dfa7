// `shoal get`, `verify --repair` and `rollback`: plan against the installed version,
// stage the new one, and switch it in through the journal. State lives in the data
// dir; the install folder only ever holds a complete release.
import { createHash, type KeyObject } from 'node:crypto'
import { existsSync } from 'node:fs'
import { rm, statfs } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { dirname } from 'node:path'
import semverLt from 'semver/functions/lt.js'
import { ShoalError } from '../../../shared/errors.ts'
import type { Manifest } from '../../../shared/release-schema.ts'
import { decodeManifest, manifestFileSha256, storedManifestPaths } from '../../release/manifest-codec.ts'
import { resolveRelease } from '../../release/resolve.ts'
import { keyId } from '../../release/signing.ts'
import { userCompileCache } from '../../release/compile-cache.ts'
import { WorkerPool } from '../../release/worker-pool.ts'
import type { StateDb } from '../../store/state-db.ts'
import { addHistory } from '../../store/history-table.ts'
import { readInstalledRow } from '../../store/installs-table.ts'
import { checkpointStatement, deleteJobOfDir, insertJob } from '../../store/jobs-table.ts'
import type { LiveLimits } from '../../policy/live-limits.ts'
import { CdnSource, type FetchSample } from '../sources/cdn/cdn-source.ts'
import { DEFAULT_TRICKLE } from '../sources/cdn/trickle-rule.ts'
import type { RetryPolicy } from '../sources/cdn/retry-policy.ts'
import { emptySourceBytes, type SourceBytes } from '../stats/source-bytes.ts'
import { createBitfield, hasBit } from './bitfield.ts'
import { lockInstallDir } from './dir-lock.ts'
import { planInstall, type InstallPlan } from './install-plan.ts'
import type { PlacementResult, PlacementTask } from './placement-tasks.ts'
import { Stager } from './stager.ts'
import { swarmFetch, type SwarmSettings, type SwarmTally } from './swarm-phase.ts'
import { keepPatchesOf, patchReport, type PatchOutcome, type PatchReport } from './patch-apply.ts'
import { noCdnPieces, type CdnReason } from '../scheduler/cdn-scheduler.ts'
import { createSourceLedger } from '../stats/source-ledger.ts'
import type { PeerClass } from '../stats/peer-class.ts'
import type { Refusals } from '../sources/peers/refusals.ts'
import { installOps, rollbackOps } from './switch-journal.ts'
import { recordVerifiedFiles } from './verified-files.ts'
import { forgetVerifiedFiles } from '../../store/verified-files-table.ts'
import { pathLimits, pathTooLong } from './path-limits.ts'
import { carryUserFiles, type UserFiles } from './carry-user-files.ts'
import { installPaths, patchBlobPath, type InstallPaths } from './install-paths.ts'
import { adoptReleaseRecord } from './release-record.ts'
import { installedIfValid, installedManifest, openJob, recoverInstall, switchIn, type JobTarget, type OpenedJob } from './install-records.ts'
import { collectGarbage, garbageBound } from './garbage-bound.ts'

/** A CDN request with no byte for this long is retried; also the window a trickle is judged over. */
const DEFAULT_STALL_MS = 15_000

/** What every engine job needs: where, with which key and state, and how to reach the CDN. */
export interface JobOptions {
  readonly installDir: string
  readonly db: StateDb
  readonly publicKey: KeyObject
  /** Extra product-root URLs used beside the release's own location and mirrors. */
  readonly mirrors: readonly URL[]
  readonly limitDown: number
  readonly connections: number
  readonly stallMs?: number
  /** Bytes per second under which a CDN request is cut and fetched elsewhere (0: no floor; DEFAULT_MIN_RATE). */
  readonly minRate?: number
  readonly retry?: RetryPolicy
  readonly now: () => Date
  readonly onProgress?: (p: JobProgress) => void
  /** Peers to ask before the CDN; the swarm is used when there are peers or trackers. */
  readonly swarm?: SwarmSettings
  /** Aborting stops transfers in flight; the checkpoint stays and a rerun resumes from it. */
  readonly signal?: AbortSignal
  /** Rates that may change while the job runs (the agent's caps); replaces `limitDown`. */
  readonly limits?: LiveLimits
  /** Timing of each CDN range, for background mode's delay-based rate control. */
  readonly onCdnSample?: (sample: FetchSample) => void
  /** Awaited after staging and before the switch: holds an update until the policy's install window. */
  readonly beforeSwitch?: () => Promise<void>
}

export interface GetOptions extends JobOptions {
  readonly pointerUrl: URL
  readonly allowDowngrade: boolean
}

export interface JobProgress {
  readonly done: number
  readonly total: number
  readonly bytes: SourceBytes
  /** Peers connected now, by class. */
  readonly peers: Record<PeerClass, number>
}

export interface JobResult {
  readonly product: string
  readonly version: string
  readonly fromVersion: string | undefined
  readonly upToDate: boolean
  readonly resumed: boolean
  /** Bytes received per source class (CDN bytes as received, on the wire). */
  readonly bytes: SourceBytes
  /** Bytes written to the new version per source class; they add up to the bytes staged. */
  readonly written: Omit<SourceBytes, 'wasted'>
  readonly totalBytes: number
  readonly seconds: number
  /** Peers banned for sending pieces that failed verification. */
  readonly bannedPeers: string[]
  /** Peers cut for trickling: they owed blocks and sent almost nothing (see peer-trickle.ts). */
  readonly trickledPeers: string[]
  /** Pieces the scheduler handed to the CDN while peers were present, by reason. */
  readonly cdnPieces: Record<CdnReason, number>
  /** Bytes this job uploaded to other peers while it ran, by class. */
  readonly uploaded: Record<PeerClass, number>
  /** Peers refused admission to the swarm, or that refused this client, by reason. */
  readonly peerRefusals: Refusals
  /** Why this client could not join the swarm (no peer pass); the CDN then brought everything. */
  readonly peerAuthError: string | undefined
  /** Files in the install folder that no release put there, and where they went. */
  readonly userFiles: UserFiles
  /** Changed files built by a patch against the installed version, and patches that failed (their files came from chunks). */
  readonly patches: PatchReport
}

/** Chosen by `npm run bench` (README, "CDN engine"). */
export const RANGE_OPTIONS = { maxGap: 64 * 1024, maxRange: 4 * 1024 * 1024 }
const FREE_SPACE_MARGIN = 64 * 1024 * 1024

/**
 * Placement workers: one per core, at most 4. Each holds 12-13 MiB (its own V8 heap and code: a
 * 512 MiB install peaked at 168 MiB with 2 and 193 MiB with 4), and each places about 290 MB/s
 * (a chunk's hash, its writes, the read-back and the file's hash), so 4 keep up with a 10 Gbit/s
 * link. A 16-core machine held 16 of them.
 */
const PLACEMENT_WORKERS = Math.min(4, Math.max(1, availableParallelism()))

/** A job ready to stage. The stored manifest (2.7 MB for 1 GiB) is in the state database by then, not kept in memory. */
interface PreparedJob {
  readonly target: JobTarget
  readonly opened: OpenedJob
  readonly installed: Manifest | undefined
}

/** Bytes of the new version already in staging (`placed`) and still to write (`missing`), counted once per position; patched files count as missing. */
function stagedBytes(plan: InstallPlan, done: Uint8Array, m: Manifest): { placed: number; missing: number } {
  let placed = 0
  let missing = plan.patches.reduce((n, p) => n + m.files[p.file]!.size, 0)
  for (const chunk of plan.targets.chunks) {
    const bytes = m.chunks.size[chunk]! * plan.targets.count(chunk)
    if (hasBit(done, chunk)) placed += bytes
    else missing += bytes
  }
  return { placed, missing }
}

async function checkFreeSpace(parent: string, missing: number): Promise<void> {
  const needed = FREE_SPACE_MARGIN + missing
  const fs = await statfs(parent)
  const free = fs.bavail * fs.bsize
  if (free < needed) {
    throw new ShoalError('E_NO_SPACE', `staging needs ${needed} bytes (including a ${FREE_SPACE_MARGIN}-byte margin) on ${parent}, but only ${free} are free`, `free at least ${needed - free} bytes and run again`)
  }
}

/** Refuses a release whose paths would not fit below the install's folders, before anything is staged. */
function checkPathLengths(manifest: Manifest, paths: InstallPaths): void {
  const limits = pathLimits(process.platform)
  // The previous version's folder has the longest name of the four a file lives under.
  const deepest = [paths.install, paths.staging, paths.backup, paths.aside].reduce((a, b) => (limits.measure(b) > limits.measure(a) ? b : a))
  const problem = pathTooLong(deepest, manifest.files.map((f) => f.path), limits)
  if (problem) throw new ShoalError('E_UNSAFE_PATH', `${manifest.product} ${manifest.version} lists a path that does not fit here: "${problem.path}" ${problem.reason}`, 'install into a folder with a shorter path; nothing was written')
}

/**
 * Runs `work` holding the folder's lock, after finishing any switch a crash interrupted and
 * adopting one another data dir made (with the publisher key, when given).
 */
export async function withInstallLock<T>(o: Pick<JobOptions, 'installDir' | 'db'> & { readonly publicKey?: KeyObject }, work: (paths: InstallPaths) => Promise<T>): Promise<T> {
  const paths = installPaths(o.installDir)
  const unlock = lockInstallDir(paths.lock, paths.install)
  try {
    await recoverInstall(o.db, paths.install)
    if (o.publicKey) await adoptReleaseRecord(o.db, paths.install, o.publicKey)
    return await work(paths)
  } finally {
    unlock()
  }
}

/** Installs or updates `installDir` to the channel's current release. */
export function getRelease(o: GetOptions): Promise<JobResult> {
  return withInstallLock(o, async (paths) => {
    const started = performance.now()
    const prepared = await prepareGet(o, paths)
    if ('upToDate' in prepared) return { ...prepared.upToDate, seconds: (performance.now() - started) / 1000 }
    return stageAndSwitch(o, paths, prepared, started)
  })
}

/** Resolves the channel, then opens the job, or finds the install already current. */
async function prepareGet(o: GetOptions, paths: InstallPaths): Promise<PreparedJob | { readonly upToDate: JobResult }> {
  const row = readInstalledRow(o.db, paths.install)
  // Decoded before resolving, so the objects of a two-level manifest it shares are not fetched again;
  // if it does not verify, the check below says why once the channel's product is known.
  const local = row ? installedIfValid(row.manifest, o.publicKey) : undefined
  const release = await resolveRelease(o.pointerUrl, o.publicKey, o.now(), local && row && { manifest: local, stored: row.manifest })
  const { manifest, pointer } = release
  const installed = local && row?.product === manifest.product ? local : await installedManifest(row, paths, o.publicKey, manifest.product)
  if (installed && semverLt(manifest.version, installed.version) && !o.allowDowngrade) {
    throw new ShoalError('E_ROLLBACK', `${paths.install} has ${installed.version}; the channel offers ${manifest.version}, a downgrade`, 'pass --allow-downgrade to install it anyway')
  }
  if (row && manifestFileSha256(row.manifest) === pointer.manifest.sha256) {
    return { upToDate: { product: manifest.product, version: manifest.version, fromVersion: row.version, upToDate: true, resumed: false, bytes: emptySourceBytes(), written: emptySourceBytes(), totalBytes: manifest.totals.bytes, seconds: 0, bannedPeers: [], trickledPeers: [], cdnPieces: noCdnPieces(), uploaded: { lan: 0, wan: 0 }, peerRefusals: {}, peerAuthError: undefined, userFiles: { kept: [], movedAside: [], pruned: [] }, patches: patchReport([]) } }
  }
  checkPathLengths(manifest, paths)
  const target = { manifest, productRoot: release.productRoot, mirrors: pointer.mirrors.map((m) => new URL(m)) }
  return { target, opened: await openJob(o.db, paths, target, release.manifestFile, keyId(o.publicKey), o.now()), installed }
}

/** Rebuilds the installed version in staging, reusing every chunk that still verifies, and switches it in; `prune` leaves the user's files out. */
export function repairInstall(o: JobOptions, prune = false): Promise<JobResult> {
  return withInstallLock(o, async (paths) => {
    const started = performance.now()
    const row = readInstalledRow(o.db, paths.install)
    if (!row) throw new ShoalError('E_NOT_INSTALLED', `${paths.install} holds no Shoal install`, 'install it with `shoal get` first')
    const manifest = decodeManifest(row.manifest, o.publicKey, `installed manifest of ${paths.install}`)
    const target = { manifest, productRoot: new URL(row.product_root), mirrors: (JSON.parse(row.mirrors) as string[]).map((m) => new URL(m)) }
    return stageAndSwitch(o, paths, { target, opened: await openJob(o.db, paths, target, row.manifest, keyId(o.publicKey), o.now()), installed: manifest }, started, prune)
  })
}

async function stageAndSwitch(o: JobOptions, paths: InstallPaths, prepared: PreparedJob, started: number, prune = false): Promise<JobResult> {
  const { target, installed } = prepared
  const { manifest } = target
  const { job, resumed } = prepared.opened
  const plan = planInstall(manifest, installed)
  // The decode's garbage (the fetched file, its base64 and zstd stages: 11 MiB for 1 GiB) goes before the download's buffers come.
  collectGarbage()
  const done = job.done ? Uint8Array.from(job.done) : createBitfield(manifest.chunks.size.length)
  const staged = stagedBytes(plan, done, manifest)
  await checkFreeSpace(dirname(paths.install), staged.missing)

  const bytes = emptySourceBytes()
  const written = createSourceLedger()
  let placed = staged.placed
  const connected: Record<PeerClass, number> = { lan: 0, wan: 0 }
  const report = () => o.onProgress?.({ done: placed, total: plan.totalBytes, bytes: { ...bytes }, peers: { ...connected } })
  const cdn = new CdnSource({
    mirrors: [target.productRoot, ...target.mirrors, ...o.mirrors],
    connections: o.connections,
    stallMs: o.stallMs ?? DEFAULT_STALL_MS,
    ...(o.minRate !== undefined ? { trickle: { ...DEFAULT_TRICKLE, floor: o.minRate } } : {}),
    limitDown: o.limitDown,
    ...(o.retry ? { retry: o.retry } : {}),
    ...(o.limits ? { bucket: o.limits.cdn } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onCdnSample ? { onSample: o.onCdnSample } : {}),
    onBytes: (n) => {
      bytes.cdn += n
      report()
    },
  })
  const workers = new WorkerPool<PlacementTask, PlacementResult>(new URL('./placement-worker.ts', import.meta.url), PLACEMENT_WORKERS, { compileCache: userCompileCache() })
  const persist = checkpointStatement(o.db)
  const tally: SwarmTally = { banned: [], trickled: [], cdnPieces: noCdnPieces(), uploaded: { lan: 0, wan: 0 }, peerRefusals: {}, peerAuthError: undefined }
  const peers = swarmFetch({ ...o, stallMs: o.stallMs ?? DEFAULT_STALL_MS }, manifest, bytes, tally, (now) => {
    Object.assign(connected, now)
    report()
  })
  const wasted = (n: number) => {
    written.wasted(n)
    bytes.wasted += n
  }
  const patchOutcomes: PatchOutcome[] = []
  const boundGarbage = garbageBound()
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
      ...(peers ? { peers } : {}),
      persist: (snapshot) => persist.run(Buffer.from(snapshot), job.id),
      onPlaced: (from, n) => {
        boundGarbage(n)
        placed += n
        written.useful(from, n)
        if (from !== 'cdn') bytes[from] += n
        report()
      },
      onWasted: wasted,
      patchPath: (k) => patchBlobPath(paths, manifest.version, k),
      onPatch: (outcome) => patchOutcomes.push(outcome),
    }).run()
  } finally {
    await Promise.all([cdn.close(), workers.close()])
  }
  // The range buffers, before the switch reads both manifests back from the state database.
  collectGarbage()

  await o.beforeSwitch?.()
  o.signal?.throwIfAborted()
  const row = readInstalledRow(o.db, paths.install)
  // Last, so that a file the user saves while the download runs is carried too.
  const userFiles = await carryUserFiles(paths.install, paths.staging, installed?.files.map((f) => f.path) ?? [], manifest.files.map((f) => f.path), prune)
  await switchIn(o.db, job.id, installOps(paths.install, paths.staging, paths.backup, row !== undefined))
  await keepPatchesOf(paths, plan.patches.length > 0 ? manifest.version : undefined)
  await recordVerifiedFiles(o.db, paths.install, manifest.files.map((f) => f.path))
  const seconds = (performance.now() - started) / 1000
  addHistory(o.db, { dir: paths.install, product: manifest.product, fromVersion: row?.version ?? null, version: manifest.version, finishedAt: o.now().toISOString(), seconds, bytes })
  const w = written.snapshot()
  const usefulWritten = { cdn: w.cdn, lan: w.lan, wan: w.wan, local: w.local }
  return { product: manifest.product, version: manifest.version, fromVersion: row?.version, upToDate: false, resumed, bytes, written: usefulWritten, totalBytes: plan.totalBytes, seconds, bannedPeers: tally.banned, trickledPeers: tally.trickled, cdnPieces: tally.cdnPieces, uploaded: tally.uploaded, peerRefusals: tally.peerRefusals, peerAuthError: tally.peerAuthError, userFiles, patches: patchReport(patchOutcomes) }
}

/** Swaps the install with the kept previous version. */
export function rollbackInstall(o: Pick<JobOptions, 'installDir' | 'db' | 'now'>): Promise<{ product: string; version: string; fromVersion: string; userFiles: UserFiles }> {
  return withInstallLock(o, async (paths) => {
    const row = readInstalledRow(o.db, paths.install)
    if (!row) throw new ShoalError('E_NOT_INSTALLED', `${paths.install} holds no Shoal install`)
    if (!row.previous_version || !row.previous_manifest || !existsSync(paths.backup)) {
      throw new ShoalError('E_NOT_INSTALLED', `${paths.install} has no previous version to roll back to`, 'a previous version is kept after each update')
    }
    // An unfinished download was staged on top of the version being rolled away: drop it.
    deleteJobOfDir(o.db, paths.install)
    await rm(paths.staging, { recursive: true, force: true })
    // The job copies the folder's installs row, which only a holder of this folder's lock changes.
    const jobId = insertJob(o.db, { ...row, version: row.previous_version, manifest: row.previous_manifest, manifest_sha256: createHash('sha256').update(row.previous_manifest).digest('hex'), phase: 'rolling-back', created_at: o.now().toISOString() })
    // The user's files go back with the version rolled to, as into an update.
    const userFiles = await carryUserFiles(paths.install, paths.backup, storedManifestPaths(row.manifest, 'installed manifest'), storedManifestPaths(row.previous_manifest, 'previous manifest'), false)
    // The version rolled to was verified when it was installed, but this record describes the other.
    forgetVerifiedFiles(o.db, paths.install)
    await switchIn(o.db, jobId, rollbackOps(paths.install, paths.backup, paths.aside))
    return { product: row.product, version: row.previous_version, fromVersion: row.version, userFiles }
  })
}
