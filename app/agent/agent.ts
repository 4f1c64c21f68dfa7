// The headless engine host behind `shoal agent`: products, settings layered under the
// managed policy, a priority queue of jobs run through the engine, live rate limits,
// periodic channel checks, and change events. The control server maps HTTP onto this.
import type { KeyObject } from 'node:crypto'
import { addRefusals, DEFAULT_MAX_PEERS, type FetchSample, type JobOptions, type JobResult, type Refusals } from '../engine/engine.ts'
import { randomUUID } from 'node:crypto'
import { statfs } from 'node:fs/promises'
import { isAbsolute, resolve } from 'node:path'
import semverGt from 'semver/functions/gt.js'
import semverValid from 'semver/functions/valid.js'
import {
  API_VERSION,
  type AddProductRequest,
  type CreateJobRequest,
  type History,
  type Job,
  type JobAction,
  type Product,
  type Settings,
  type SettingsPatch,
  type SettingsView,
  type Status,
} from '../../shared/api-contract.ts'
import { deleteAgentJob, deleteAgentJobsOfProduct, listAgentJobs, saveAgentJob } from '../store/agent-jobs-table.ts'
import { installedVersion } from '../store/installs-table.ts'
import { deleteProduct, listProducts, saveProduct, type ProductRow } from '../store/products-table.ts'
import { saveUserSettings, userSettings } from '../store/settings-table.ts'
import type { StateDb } from '../store/state-db.ts'
import { uploadedIn } from '../store/uploads-table.ts'
import { nextCheckDelay } from '../policy/check-timer.ts'
import { createLedbat, ledbatSample, type LedbatState } from '../policy/ledbat.ts'
import { transferRates, type RunningTransfer } from '../policy/transfer-rates.ts'
import { LiveLimits } from '../policy/live-limits.ts'
import { INVALID_POLICY_SETTINGS, NO_POLICY } from '../policy/managed-policy.ts'
import { effectiveCaps, inInstallWindow, isValidTimeZone } from '../policy/schedule.ts'
import { finishBoundFor } from '../policy/finish-bound.ts'
import { applyPatch, lockedPathsTouched } from '../policy/settings-merge.ts'
import { monthOf, sharingDecision, type SharingDecision } from '../policy/sharing.ts'
import { EventHub } from './event-hub.ts'
import { installHistory } from './install-history.ts'
import { reportJobOffload } from './offload-report.ts'
import { readPolicyFile, type PolicyState } from './policy-file.ts'
import { discardStaging, runJobKind } from './job-engine.ts'
import { errorInfo, isOpen, newJob } from './job-record.ts'
import { managedProductRow, productIdFor, productView } from './product-record.ts'
import { SeedManager } from './seed-manager.ts'
import { defaultPowerReader, type PowerReader } from './power-signals.ts'
import { normalizePublicKey, publicKeyObject } from './publisher-key.ts'
import { RateWindow } from './rate-window.ts'

export const AGENT_VERSION = '0.1.0'

/** An error the API answers with this HTTP status and code. */
export class AgentError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

export interface AgentOptions {
  readonly dataDir: string
  readonly db: StateDb
  /** The managed policy file; a missing file means no policy. */
  readonly policyPath: string
  readonly now?: () => Date
  readonly random?: () => number
  readonly power?: PowerReader
  readonly connections?: number
  /** Periodic channel checks (on by default). */
  readonly periodicChecks?: boolean
  /** How long peers may deliver nothing before the CDN takes over. */
  readonly peerStallMs?: number
  /** Sent with announces and offload reports when the release's tracker wants one. */
  readonly trackerToken?: string
  /** LAN discovery forced on or off (`--lsd`, `--no-lsd`, SHOAL_NO_LSD); undefined follows each release's scope. */
  readonly lsd?: boolean
  /** The swarm admission private key, on the operator's machines: jobs and seeds issue their own peer passes. */
  readonly admissionKey?: KeyObject
}

type StopReason = 'pause' | 'cancel' | 'requeue' | 'shutdown'

interface Active {
  readonly controller: AbortController
  reason: StopReason | undefined
  readonly done: Promise<void>
  readonly window: RateWindow
  ledbat: LedbatState | undefined
}

const TICK_MS = 500
const SHARING_REFRESH_MS = 30_000
const INSTALL_WINDOW_POLL_MS = 30_000

export class Agent {
  readonly startedAt: string
  readonly hub: EventHub
  readonly limits: LiveLimits
  private readonly o: AgentOptions
  private readonly now: () => Date
  private readonly power: PowerReader
  private readonly jobs = new Map<string, Job>()
  private readonly active = new Map<string, Active>()
  private readonly checkTimers = new Map<string, NodeJS.Timeout>()
  private policy: PolicyState = { loaded: false, error: null, value: NO_POLICY }
  private sharing: SharingDecision = { upload: false, wan: false, reason: 'not checked yet' }
  /** Admission refusals of finished jobs' swarms. */
  private readonly jobRefusals: Refusals = {}
  private pausedAll = false
  private stopping = false
  private stopped: Promise<void> | undefined
  private tick: NodeJS.Timeout | undefined
  private lastSharingRefresh = 0
  private readonly windowWaiters = new Set<() => void>()
  private readonly seeds: SeedManager

  constructor(o: AgentOptions) {
    this.o = o
    this.now = o.now ?? (() => new Date())
    this.startedAt = this.now().toISOString()
    this.power = o.power ?? defaultPowerReader(process.platform)
    this.limits = new LiveLimits({ cdnDown: 0, peerDown: 0, peerUp: 0, uploadAllowed: false, uploadWan: false }, Date.now())
    this.seeds = new SeedManager({ db: o.db, limits: this.limits, trackerToken: () => this.trackerToken(), admissionKey: o.admissionKey, lsd: o.lsd, now: this.now, site: () => this.settings().sharing.site })
    this.hub = new EventHub({
      status: () => this.status(),
      job: (id) => this.jobs.get(id),
      products: () => this.products(),
      settingsEvent: () => ({ ...this.settingsView(), paused: this.pausedAll }),
    })
  }

  async start(): Promise<void> {
    await this.loadPolicy()
    for (const job of listAgentJobs(this.o.db)) {
      // A job that was running when the agent stopped (SIGTERM or a crash) runs again and resumes from its checkpoint.
      if (job.state === 'running' || job.state === 'waiting') Object.assign(job, { state: 'queued', detail: 'resumed after a restart' })
      this.jobs.set(job.id, job)
    }
    await this.refreshSharing()
    await this.reconcileSeeds()
    this.tick = setInterval(() => this.onTick(), TICK_MS)
    this.tick.unref()
    if (this.o.periodicChecks !== false) for (const p of listProducts(this.o.db)) this.planCheck(p.id, 0.02 + 0.05 * this.random())
    this.schedule()
  }

  /** Stops every transfer; their checkpoints stay and the next start resumes them. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= this.shutDown()
    return this.stopped
  }

  private async shutDown(): Promise<void> {
    this.stopping = true
    clearInterval(this.tick)
    for (const t of this.checkTimers.values()) clearTimeout(t)
    for (const [, a] of this.active) {
      a.reason = 'shutdown'
      a.controller.abort(new Error('the agent is shutting down'))
    }
    await Promise.all([...this.active.values()].map((a) => a.done))
    await this.seeds.stopAll()
    this.hub.close()
  }

  // ---- views ----

  settings(): Settings {
    const layer = this.policy.error ? INVALID_POLICY_SETTINGS : this.policy.value.settings
    return applyPatch(userSettings(this.o.db), layer)
  }

  settingsView(): SettingsView {
    return { settings: this.settings(), locked: [...this.policy.value.locked] }
  }

  products(): Product[] {
    return listProducts(this.o.db).map((p) => this.productView(p))
  }

  job(id: string): Job | undefined {
    return this.jobs.get(id)
  }

  /** The managed policy's tracker token (the enrollment credential for peer passes), else --tracker-token-file's. */
  private trackerToken(): string | undefined {
    return this.policy.value.trackerToken ?? this.o.trackerToken
  }

  /** Peers refused admission by this agent's seeds and jobs since it started, by reason. */
  private peerRefusals(): Refusals {
    const all = this.seeds.refusals()
    addRefusals(all, this.jobRefusals)
    return all
  }

  status(): Status {
    const settings = this.settings()
    const caps = effectiveCaps(settings, this.now())
    return {
      apiVersion: API_VERSION,
      agentVersion: AGENT_VERSION,
      startedAt: this.startedAt,
      paused: this.pausedAll,
      products: this.products(),
      jobs: [...this.jobs.values()],
      settings,
      locked: [...this.policy.value.locked],
      policy: { path: this.o.policyPath, loaded: this.policy.loaded, error: this.policy.error },
      effectiveCaps: { down: caps.down, up: caps.up },
      sharing: { uploading: this.sharing.upload, reason: this.sharing.reason, seeding: this.seeds.seeding(), peerRefusals: this.peerRefusals(), seedProblems: this.seeds.problems() },
    }
  }

  history(): History {
    return installHistory(this.o.db)
  }

  sharingNow(): SharingDecision {
    return this.sharing
  }

  // ---- products ----

  async addProduct(req: AddProductRequest): Promise<Product> {
    if (!isAbsolute(req.installDir)) throw new AgentError(400, 'E_USAGE', 'installDir must be an absolute path')
    const installDir = resolve(req.installDir)
    const existing = listProducts(this.o.db)
    if (existing.some((p) => p.installDir === installDir)) throw new AgentError(409, 'E_EXISTS', `${installDir} already belongs to a product`)
    let publicKey: string
    try {
      publicKey = normalizePublicKey(req.publicKey)
    } catch (err) {
      throw new AgentError(400, 'E_KEY', (err as Error).message)
    }
    const { id, base } = productIdFor(req.channelUrl, new Set(existing.map((p) => p.id)))
    const row: ProductRow = { id, name: req.name ?? base, channelUrl: req.channelUrl, publicKey, installDir, mirrors: req.mirrors ?? [], availableVersion: null, state: 'idle', error: null, lastCheckAt: null }
    saveProduct(this.o.db, row, this.now())
    this.hub.productsChanged()
    if (this.o.periodicChecks !== false) this.planCheck(id, 0)
    return this.productView(row)
  }

  async removeProduct(id: string): Promise<void> {
    this.requireProduct(id)
    if (this.policy.value.locked.includes(`products.${id}`)) throw new AgentError(403, 'E_LOCKED', `product ${id} is set by the managed policy and cannot be removed`)
    for (const job of this.jobs.values()) if (job.productId === id && (isOpen(job) || job.state === 'failed')) await this.jobAction(job.id, 'cancel')
    for (const job of [...this.jobs.values()]) if (job.productId === id) this.forgetJob(job.id)
    clearTimeout(this.checkTimers.get(id))
    this.o.db.transaction(() => {
      deleteProduct(this.o.db, id)
      deleteAgentJobsOfProduct(this.o.db, id)
    })()
    this.hub.productsChanged()
  }

  /** Resolves the channel now; with `auto`, a found update is queued as the settings say. */
  async checkProduct(id: string, auto = false): Promise<Product> {
    const p = this.requireProduct(id)
    p.state = 'checking'
    saveProduct(this.o.db, p, this.now())
    this.hub.productsChanged()
    try {
      // The release code (manifest codec, torrent, bencode) loads with the first check, not at start.
      const { resolveRelease } = await import('../release/resolve.ts')
      const { manifest } = await resolveRelease(new URL(p.channelUrl), publicKeyObject(p.publicKey), this.now())
      const installed = installedVersion(this.o.db, p.installDir)
      const newer = installed === null || (semverValid(installed) !== null && semverGt(manifest.version, installed))
      Object.assign(p, { availableVersion: newer ? manifest.version : null, state: newer ? (installed === null ? 'idle' : 'update-available') : 'up-to-date', error: null })
    } catch (err) {
      Object.assign(p, { state: 'error', error: errorInfo(err) })
    }
    p.lastCheckAt = this.now().toISOString()
    saveProduct(this.o.db, p, this.now())
    this.hub.productsChanged()
    const managed = this.policy.value.products.some((m) => m.id === id)
    const found = p.state as ProductRow['state']
    const wanted = p.availableVersion !== null && (found === 'update-available' || managed)
    if (auto && wanted && ![...this.jobs.values()].some((j) => j.productId === id && isOpen(j))) {
      const mode = this.settings().updateMode
      this.createJob({ productId: id, kind: found === 'update-available' ? 'update' : 'install', mode })
    }
    return this.productView(p)
  }

  // ---- jobs ----

  createJob(req: CreateJobRequest): Job {
    const product = this.requireProduct(req.productId)
    if ([...this.jobs.values()].some((j) => j.productId === product.id && isOpen(j))) throw new AgentError(409, 'E_BUSY', `product ${product.id} already has a job; pause, resume or cancel it`)
    const job = newJob(randomUUID(), req, product, installedVersion(this.o.db, product.installDir), this.now().toISOString())
    this.jobs.set(job.id, job)
    this.save(job)
    this.schedule()
    return job
  }

  async jobAction(id: string, action: JobAction): Promise<Job> {
    const job = this.jobs.get(id)
    if (!job) throw new AgentError(404, 'E_USAGE', `no job ${id}`)
    const active = this.active.get(id)
    if (action === 'pause') {
      if (!isOpen(job)) throw new AgentError(409, 'E_USAGE', `job ${id} is ${job.state}`)
      if (active) await this.interrupt(active, 'pause')
      else this.update(job, { state: 'paused', detail: null })
    } else if (action === 'resume') {
      if (job.state !== 'paused' && job.state !== 'failed') throw new AgentError(409, 'E_USAGE', `job ${id} is ${job.state}, not paused`)
      this.update(job, { state: 'queued', detail: null, error: null })
    } else {
      if (!isOpen(job) && job.state !== 'failed') throw new AgentError(409, 'E_USAGE', `job ${id} is ${job.state}`)
      if (active) await this.interrupt(active, 'cancel')
      else {
        this.update(job, { state: 'cancelled', detail: null })
        await this.discardStaging(job)
      }
    }
    this.schedule()
    return job
  }

  async setPausedAll(paused: boolean): Promise<void> {
    this.pausedAll = paused
    if (paused) await Promise.all([...this.active.values()].map((a) => this.interrupt(a, 'requeue')))
    this.hub.settingsChanged()
    this.schedule()
  }

  // ---- settings ----

  async patchSettings(patch: SettingsPatch): Promise<SettingsView> {
    const touched = lockedPathsTouched(patch, this.policy.value.locked)
    if (touched.length > 0) throw new AgentError(403, 'E_LOCKED', `the managed policy (${this.o.policyPath}) fixes ${touched.join(', ')}`)
    if (patch.schedule?.timeZone !== undefined && !isValidTimeZone(patch.schedule.timeZone)) throw new AgentError(400, 'E_USAGE', `unknown time zone ${patch.schedule.timeZone}`)
    let next: Settings
    try {
      next = applyPatch(userSettings(this.o.db), patch)
    } catch (err) {
      throw new AgentError(400, 'E_USAGE', (err as Error).message)
    }
    saveUserSettings(this.o.db, next)
    await this.refreshSharing()
    await this.reconcileSeeds()
    for (const wake of this.windowWaiters) wake()
    this.hub.settingsChanged()
    return this.settingsView()
  }

  // ---- internals ----

  private random(): number {
    return (this.o.random ?? Math.random)()
  }

  private requireProduct(id: string): ProductRow {
    const p = listProducts(this.o.db).find((x) => x.id === id)
    if (!p) throw new AgentError(404, 'E_USAGE', `no product ${id}`)
    return p
  }

  private productView(p: ProductRow): Product {
    const job = [...this.jobs.values()].find((j) => j.productId === p.id && (j.state === 'running' || j.state === 'waiting'))
    return productView(p, installedVersion(this.o.db, p.installDir), job, this.policy.value.products.some((m) => m.id === p.id))
  }

  /** Reads the managed policy (an invalid one is reported and replaced by safe defaults) and records its products. */
  private async loadPolicy(): Promise<void> {
    this.policy = await readPolicyFile(this.o.policyPath)
    const rows = listProducts(this.o.db)
    for (const m of this.policy.value.products) saveProduct(this.o.db, managedProductRow(m, rows.find((r) => r.id === m.id)), this.now())
  }

  private planCheck(id: string, fractionOfInterval?: number): void {
    clearTimeout(this.checkTimers.get(id))
    if (this.stopping) return
    const interval = this.settings().checkIntervalMinutes
    const delay = fractionOfInterval !== undefined ? fractionOfInterval * 60_000 : nextCheckDelay(interval, this.random())
    const timer = setTimeout(() => {
      void this.checkProduct(id, true)
        .catch(() => undefined)
        .finally(() => this.planCheck(id))
    }, delay)
    timer.unref()
    this.checkTimers.set(id, timer)
  }

  private save(job: Job): void {
    job.updatedAt = this.now().toISOString()
    saveAgentJob(this.o.db, job)
    this.hub.jobChanged(job.id)
  }

  private update(job: Job, fields: Partial<Job>): void {
    Object.assign(job, fields)
    if (job.state !== 'running') {
      job.rates = { cdn: 0, lan: 0, wan: 0 }
      job.etaSeconds = null
    }
    this.save(job)
    this.hub.productsChanged()
  }

  private forgetJob(id: string): void {
    this.jobs.delete(id)
    deleteAgentJob(this.o.db, id)
    this.hub.jobRemoved(id)
  }

  /** Stops a running job's transfers now; it settles into the state the reason says. */
  private async interrupt(a: Active, reason: StopReason): Promise<void> {
    a.reason = reason
    a.controller.abort(new Error(`job ${reason}`))
    for (const wake of this.windowWaiters) wake()
    await a.done
  }

  /** Starts the best queued job when nothing transfers; a higher-priority job takes over from a lower one. */
  private schedule(): void {
    if (this.stopping) return
    const queued = [...this.jobs.values()].filter((j) => j.state === 'queued').sort((a, b) => b.priority - a.priority || a.createdAt.localeCompare(b.createdAt))
    const next = queued[0]
    if (!next) return
    const transferring = [...this.active.entries()].filter(([id]) => this.jobs.get(id)?.state === 'running')
    if (transferring.length > 0) {
      for (const [id, a] of transferring) if (next.priority > this.jobs.get(id)!.priority && a.reason === undefined) void this.interrupt(a, 'requeue')
      return
    }
    if (this.pausedAll) return
    this.run(next)
  }

  private run(job: Job): void {
    const controller = new AbortController()
    const active: Active = { controller, reason: undefined, done: Promise.resolve(), window: new RateWindow(), ledbat: job.mode === 'background' ? createLedbat() : undefined }
    this.update(job, { state: 'running', detail: null, error: null })
    const done = this.execute(job, active).then(
      (result) => this.finished(job, active, result, undefined),
      (err: unknown) => this.finished(job, active, undefined, err),
    )
    this.active.set(job.id, Object.assign(active, { done }))
    void this.reconcileSeeds()
  }

  private async execute(job: Job, a: Active): Promise<JobResult | undefined> {
    const product = this.requireProduct(job.productId)
    const publicKey = publicKeyObject(product.publicKey)
    const options: JobOptions = {
      installDir: product.installDir,
      db: this.o.db,
      publicKey,
      mirrors: product.mirrors.map((m) => new URL(m)),
      limitDown: 0,
      connections: this.o.connections ?? 4,
      now: this.now,
      signal: a.controller.signal,
      limits: this.limits,
      swarm: { peers: [], trackers: [], trackerToken: this.trackerToken(), stallMs: this.o.peerStallMs ?? 5000, targetRate: 0, finishBound: finishBoundFor(job.mode), discoveryMs: 2000, limitUp: 0, maxPeers: DEFAULT_MAX_PEERS, listenHost: undefined, admissionKey: this.o.admissionKey, site: this.settings().sharing.site, ...(this.o.lsd !== undefined ? { lsd: this.o.lsd } : {}) },
      onProgress: (p) => {
        job.bytesDone = p.done
        job.bytesTotal = p.total
        job.bytes = { ...p.bytes }
        job.peers = { ...p.peers }
        const received = p.bytes.cdn + p.bytes.lan + p.bytes.wan
        job.offload = received > 0 ? (p.bytes.lan + p.bytes.wan) / received : 0
        a.window.add(Date.now(), p.bytes)
      },
      ...(a.ledbat ? { onCdnSample: (s: FetchSample) => this.onCdnSample(a, s) } : {}),
      beforeSwitch: () => this.waitForInstallWindow(job, a),
    }
    const run = await runJobKind(job.kind, product.channelUrl, publicKey, options)
    if (run.rolledBack) Object.assign(job, run.rolledBack)
    return run.result
  }

  /** Background updates switch in only inside the install window; the job waits there, abortable. */
  private async waitForInstallWindow(job: Job, a: Active): Promise<void> {
    if (job.mode !== 'background') return
    while (!inInstallWindow(this.settings().schedule, this.now())) {
      a.controller.signal.throwIfAborted()
      const w = this.settings().schedule.installWindow!
      this.update(job, { state: 'waiting', detail: `downloaded; installs between ${w.fromHour}:00 and ${w.toHour}:00 (${this.settings().schedule.timeZone})` })
      this.schedule()
      await new Promise<void>((wake) => {
        const timer = setTimeout(done, INSTALL_WINDOW_POLL_MS)
        function done() {
          clearTimeout(timer)
          waiters.delete(done)
          wake()
        }
        const waiters = this.windowWaiters
        waiters.add(done)
      })
    }
    if (job.state === 'waiting') this.update(job, { state: 'running', detail: 'installing' })
  }

  private async finished(job: Job, a: Active, result: JobResult | undefined, err: unknown): Promise<void> {
    this.active.delete(job.id)
    job.rates = { cdn: 0, lan: 0, wan: 0 }
    if (err === undefined) {
      if (result) addRefusals(this.jobRefusals, result.peerRefusals)
      if (result) Object.assign(job, { version: result.version, fromVersion: result.fromVersion ?? null, bytes: { ...result.bytes, wasted: 0 }, bytesDone: result.totalBytes, bytesTotal: result.totalBytes })
      this.update(job, { state: 'done', detail: result?.upToDate ? 'already up to date' : null, etaSeconds: null })
      const p = listProducts(this.o.db).find((x) => x.id === job.productId)
      if (p) {
        Object.assign(p, { availableVersion: null, state: 'up-to-date', error: null })
        saveProduct(this.o.db, p, this.now())
        if (result && !result.upToDate && this.settings().reportOffload) void reportJobOffload(this.o.db, p.installDir, publicKeyObject(p.publicKey), this.trackerToken(), result.bytes, result.peerRefusals)
      }
    } else if (a.reason === 'shutdown') {
      // Left as it was for the next start, which resumes it.
      saveAgentJob(this.o.db, { ...job, state: 'queued' })
    } else if (a.reason === 'pause') this.update(job, { state: 'paused', detail: null })
    else if (a.reason === 'requeue') this.update(job, { state: 'queued', detail: this.pausedAll ? 'all transfers paused' : 'waiting for a higher-priority job' })
    else if (a.reason === 'cancel') {
      this.update(job, { state: 'cancelled', detail: null })
      await this.discardStaging(job)
    } else this.update(job, { state: 'failed', detail: null, error: errorInfo(err) })
    this.hub.productsChanged()
    void this.reconcileSeeds()
    this.schedule()
  }

  private async discardStaging(job: Job): Promise<void> {
    const product = listProducts(this.o.db).find((p) => p.id === job.productId)
    if (product && (job.kind === 'install' || job.kind === 'update')) await discardStaging(this.o.db, product.installDir)
  }

  private onCdnSample(a: Active, s: FetchSample): void {
    if (!a.ledbat) return
    ledbatSample(a.ledbat, { delayMs: s.headersMs, throughput: a.window.rates(Date.now()).cdn }, Date.now())
    this.applyLimits()
  }

  /** Caps, schedule, sharing and background mode, as rates the running transfers follow. */
  private applyLimits(): void {
    const t = Date.now()
    const running = [...this.active].flatMap(([id, a]): RunningTransfer[] => {
      const job = this.jobs.get(id)
      if (job?.state !== 'running') return []
      const rates = a.window.rates(t)
      return [{ peersConnected: job.peers.lan + job.peers.wan, peerRate: rates.lan + rates.wan, ledbatRate: a.ledbat?.rate }]
    })
    this.limits.set(transferRates({ caps: effectiveCaps(this.settings(), this.now()), running, seeds: this.seeds.seeding().length, sharing: this.sharing }), t)
  }

  private async refreshSharing(): Promise<void> {
    this.lastSharingRefresh = Date.now()
    const settings = this.settings()
    const [signals, disk] = await Promise.all([this.power().catch(() => ({ onBattery: false, metered: false })), statfs(this.o.dataDir).catch(() => undefined)])
    this.sharing = sharingDecision({
      sharing: settings.sharing,
      signals,
      uploadedThisMonth: uploadedIn(this.o.db, monthOf(this.now())),
      freeDiskBytes: disk ? disk.bavail * disk.bsize : 0,
    })
  }

  private onTick(): void {
    const t = Date.now()
    for (const [id, a] of this.active) {
      const job = this.jobs.get(id)
      if (!job || job.state !== 'running') continue
      job.rates = a.window.rates(t)
      const rate = job.rates.cdn + job.rates.lan + job.rates.wan
      job.etaSeconds = rate > 0 && job.bytesTotal > 0 ? Math.max(0, job.bytesTotal - job.bytesDone) / rate : null
      this.save(job)
    }
    if (t - this.lastSharingRefresh >= SHARING_REFRESH_MS) void this.refreshSharing().then(() => this.reconcileSeeds())
    this.applyLimits()
  }

  /** Seeds what the sharing policy allows; a product with an open job is left alone until it ends. */
  private reconcileSeeds(): Promise<void> {
    this.applyLimits()
    if (this.stopping) return Promise.resolve()
    const busy = new Set([...this.jobs.values()].filter(isOpen).map((j) => j.productId))
    // The upload cap is shared by the seeds: re-applied once they have changed.
    return this.seeds.reconcile(listProducts(this.o.db), this.sharing, this.settings().sharing.seedRetentionDays, busy).then(() => this.applyLimits())
  }

  seedingProducts(): string[] {
    return this.seeds.seeding()
  }
}
