import { peakRssBytes } from '../peak-rss.ts'
import { diskBytesWritten } from '../disk-writes.ts'
import { readFile } from 'node:fs/promises'
import { ShoalError } from '../../../shared/errors.ts'
import { formatBytes } from '../../../shared/units.ts'
import { DEFAULT_CONNECTIONS, DEFAULT_MAX_PEERS, loadJobs, loadVerify, type JobOptions, type JobResult, type PeerEncryption, type SourceBytes } from '../../engine/engine.ts'
import { locationToUrl } from '../../release/resource-fetch.ts'
import { openStateDb, type StateDb } from '../../store/state-db.ts'
import { loadPrivateKey, loadPublicKey } from '../key-files.ts'
import type { Output } from '../output.ts'

export { DEFAULT_CONNECTIONS }

/** Flags every command that fetches from the CDN takes. */
export interface FetchFlags {
  readonly pubkey: string
  readonly peer?: string[]
  readonly tracker?: string[]
  readonly trackerTokenFile?: string
  readonly peerStall?: number
  readonly targetRate?: number
  /** Percent the finish may slip over the CDN-only estimate; null: no bound (the CDN fills only what peers cannot). */
  readonly finishSlip?: number | null
  /** Upload cap while the swarm runs (and while seeding after it). */
  readonly limitUp?: number
  readonly maxPeers?: number
  readonly peerEncryption?: PeerEncryption
  /** The swarm's admission private key: this machine issues its own peer pass. */
  readonly admissionKey?: string
  /** How often the revocation list is fetched again, in ms. */
  readonly revocationCheck?: number
  /** The address peers connect to. */
  readonly listen?: string
  readonly site?: string
  /** LAN discovery on or off; undefined leaves it to the release's scope. */
  readonly lsd?: boolean
  readonly dir: string
  readonly mirror: string[]
  readonly limitDown: number
  readonly connections: number
  readonly stallTimeout: number
  readonly minRate: number
}

/**
 * How long the CDN waits for a first peer's bitfield when none has arrived: a tracker answer
 * and a handshake take well under a second on a LAN, more on a loaded machine.
 */
const DISCOVERY_MS = 2000

const perSource = (b: SourceBytes) => `cdn ${formatBytes(b.cdn)}, lan ${formatBytes(b.lan)}, wan ${formatBytes(b.wan)}, local ${formatBytes(b.local)}`

async function readToken(file: string | undefined): Promise<string | undefined> {
  if (!file) return undefined
  const token = (await readFile(file, 'utf8').catch(() => '')).trim()
  if (!token) throw new ShoalError('E_USAGE', `--tracker-token-file ${file} is missing or empty`)
  return token
}

async function withDb<T>(dataDir: string, work: (db: StateDb) => Promise<T>): Promise<T> {
  const db = openStateDb(dataDir)
  try {
    return await work(db)
  } finally {
    db.close()
  }
}

async function jobOptions(out: Output, db: StateDb, flags: FetchFlags, label: string): Promise<{ options: JobOptions; stop: () => void }> {
  const bar = out.progress(label)
  return {
    options: {
      installDir: flags.dir,
      db,
      publicKey: await loadPublicKey(flags.pubkey),
      mirrors: flags.mirror.map((m) => locationToUrl(m)),
      limitDown: flags.limitDown,
      connections: flags.connections,
      stallMs: flags.stallTimeout,
      minRate: flags.minRate,
      swarm: { peers: flags.peer ?? [], trackers: flags.tracker ?? [], trackerToken: await readToken(flags.trackerTokenFile), stallMs: flags.peerStall ?? 5000, targetRate: flags.targetRate ?? 0, ...(typeof flags.finishSlip === 'number' ? { finishBound: { slip: flags.finishSlip / 100 } } : {}), discoveryMs: DISCOVERY_MS, limitUp: flags.limitUp ?? 0, maxPeers: flags.maxPeers ?? DEFAULT_MAX_PEERS, listenHost: flags.listen, lsd: flags.lsd, encryption: flags.peerEncryption ?? 'prefer', admissionKey: flags.admissionKey ? await loadPrivateKey(flags.admissionKey, '--admission-key') : undefined, revocationCheckMs: flags.revocationCheck, site: flags.site },
      now: () => new Date(),
      onProgress: (p) => bar.update(p.done, p.total, () => ({ text: perSource(p.bytes), json: { bytes: { ...p.bytes } } })),
    },
    stop: () => bar.stop(),
  }
}

type UserFiles = JobResult['userFiles']

const userFilesJson = (u: UserFiles) => ({ kept: u.kept, movedAside: u.movedAside.map((m) => ({ from: m.from, to: m.to })), pruned: u.pruned })

function reportUserFiles(out: Output, { kept, movedAside, pruned }: UserFiles): void {
  for (const p of kept) out.info(`  kept your file: ${p}`)
  for (const m of movedAside) out.info(`  kept your file: ${m.from} as ${m.to} (the release now has ${m.from})`)
  for (const p of pruned) out.info(`  pruned: ${p} (in the previous version's folder until the next update)`)
}

function reportJob(out: Output, dir: string, result: JobResult, verb: string): void {
  const { bytes } = result
  // The peak and the CPU times cover the worker threads too: they share the process.
  const usage = process.resourceUsage()
  const peakRss = peakRssBytes(usage.maxRSS)
  const cpuSeconds = { user: usage.userCPUTime / 1e6, system: usage.systemCPUTime / 1e6 }
  // Bytes written to disk per byte the new version holds (a Steam update once wrote 35.3 GB for 625 MB downloaded).
  const diskBytes = diskBytesWritten()
  const disk = diskBytes === undefined ? {} : { diskBytesWritten: diskBytes, writtenToDisk: result.totalBytes > 0 ? diskBytes / result.totalBytes : 0 }
  const fields = { product: result.product, version: result.version, from: result.fromVersion ?? null, upToDate: result.upToDate, resumed: result.resumed, bytes: { ...bytes }, written: { ...result.written }, totalBytes: result.totalBytes, seconds: result.seconds, bannedPeers: result.bannedPeers, trickledPeers: result.trickledPeers, cdnPieces: result.cdnPieces, uploaded: result.uploaded, peerRefusals: result.peerRefusals, ...(result.peerAuthError ? { peerAuthError: result.peerAuthError } : {}), userFiles: userFilesJson(result.userFiles), patches: { ...result.patches }, peakRssBytes: peakRss, cpuSeconds, ...disk }
  if (out.json) return out.event('done', fields)
  if (result.upToDate) return out.info(`${result.product} ${result.version} is already installed in ${dir}`)
  reportUserFiles(out, result.userFiles)
  for (const f of result.patches.fellBack) out.info(`  ${f.path}: its patch failed (${f.code}: ${f.reason}); built from chunks instead`)
  if (result.patches.applied > 0) out.info(`  ${result.patches.applied} file(s) built by patches (${formatBytes(result.patches.bytes)})`)
  out.info(`${verb} ${result.product} ${result.fromVersion && result.fromVersion !== result.version ? `${result.fromVersion} -> ` : ''}${result.version} in ${result.seconds.toFixed(1)} s: ${formatBytes(result.totalBytes)}; ${perSource(bytes)}${result.resumed ? ' (resumed)' : ''}${result.bannedPeers.length ? `; banned for bad data: ${result.bannedPeers.join(', ')}` : ''}${result.peerAuthError ? `; no peers: ${result.peerAuthError}` : ''}`)
}

export interface GetFlags extends FetchFlags {
  readonly allowDowngrade: boolean
  /** Keep seeding the installed release until stopped. */
  readonly seed: boolean
}

export async function getCommand(out: Output, dataDir: string, channel: string, flags: GetFlags): Promise<void> {
  await withDb(dataDir, async (db) => {
    const { getRelease } = await loadJobs()
    const { options, stop } = await jobOptions(out, db, flags, 'get')
    const result = await getRelease({ ...options, pointerUrl: locationToUrl(channel), allowDowngrade: flags.allowDowngrade }).finally(stop)
    reportJob(out, flags.dir, result, result.fromVersion ? 'updated' : 'installed')
  })
  if (!flags.seed) return
  const { seedCommand } = await import('./seed.ts')
  await seedCommand(out, dataDir, { dir: flags.dir, pubkey: flags.pubkey, tracker: flags.tracker ?? [], trackerTokenFile: flags.trackerTokenFile, port: 0, limitUp: flags.limitUp ?? 0, maxPeers: flags.maxPeers ?? DEFAULT_MAX_PEERS, listen: flags.listen, lsd: flags.lsd, peerEncryption: flags.peerEncryption ?? 'prefer', admissionKey: flags.admissionKey, revocationCheck: flags.revocationCheck, site: flags.site })
}

export function verifyCommand(out: Output, dataDir: string, flags: FetchFlags & { repair: boolean; prune: boolean }): Promise<void> {
  return withDb(dataDir, async (db) => {
    const { verifyInstall } = await loadVerify()
    const report = await verifyInstall(db, flags.dir, await loadPublicKey(flags.pubkey))
    out.event('verified', { product: report.product, version: report.version, files: report.files, damaged: report.damaged, extra: report.extra })
    const clean = report.damaged.length === 0 && report.extra.length === 0
    if (!out.json) {
      out.info(clean ? `${report.product} ${report.version}: all ${report.files} files verify` : `${report.product} ${report.version}: ${report.damaged.length} damaged or missing, ${report.extra.length} extra`)
      for (const p of report.damaged) out.info(`  damaged: ${p}`)
      for (const p of report.extra) out.info(`  extra:   ${p}`)
    }
    // Extra files are the user's: a repair keeps them, and takes them out only when asked to.
    const work = report.damaged.length > 0 || (flags.prune && report.extra.length > 0)
    if (!flags.repair || !work) {
      if (!clean && !flags.repair) process.exitCode = 1
      if (out.json) out.event('done', { repaired: false, clean })
      else if (flags.repair && !clean) out.info('extra files are kept; --prune takes them out of the install')
      return
    }
    const { repairInstall } = await loadJobs()
    const { options, stop } = await jobOptions(out, db, flags, 'repair')
    reportJob(out, flags.dir, await repairInstall(options, flags.prune).finally(stop), 'repaired')
  })
}

export function rollbackCommand(out: Output, dataDir: string, dir: string): Promise<void> {
  return withDb(dataDir, async (db) => {
    const { rollbackInstall } = await loadJobs()
    const r = await rollbackInstall({ installDir: dir, db, now: () => new Date() })
    if (out.json) return out.event('done', { product: r.product, version: r.version, from: r.fromVersion, userFiles: userFilesJson(r.userFiles) })
    reportUserFiles(out, r.userFiles)
    out.info(`rolled ${r.product} back from ${r.fromVersion} to ${r.version}; ${r.fromVersion} is kept for another rollback`)
  })
}
