// The headless engine host behind `shoal agent`: products, settings layered under the
// managed policy, the job queue (job-queue.ts), live rate limits, channel checks
// (product-checks.ts), and change events. The control server maps HTTP onto this.
import type { KeyObject } from 'node:crypto'
import { statfs } from 'node:fs/promises'
import { isAbsolute, resolve } from 'node:path'
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
import { addRefusals, type Refusals } from '../engine/engine.ts'
import { LiveLimits } from '../policy/live-limits.ts'
import { INVALID_POLICY_SETTINGS, NO_POLICY } from '../policy/managed-policy.ts'
import { effectiveCaps, isValidTimeZone } from '../policy/schedule.ts'
import { applyPatch, lockedPathsTouched } from '../policy/settings-merge.ts'
import { monthOf, sharingDecision, type SharingDecision } from '../policy/sharing.ts'
import { transferRates } from '../policy/transfer-rates.ts'
import { deleteAgentJobsOfProduct, listAgentJobs } from '../store/agent-jobs-table.ts'
import { installedVersion } from '../store/installs-table.ts'
import { deleteProduct, listProducts, saveProduct, type ProductRow } from '../store/products-table.ts'
import { saveUserSettings, userSettings } from '../store/settings-table.ts'
import type { StateDb } from '../store/state-db.ts'
import { uploadedIn } from '../store/uploads-table.ts'
import { AgentError } from './agent-error.ts'
import { EventHub } from './event-hub.ts'
import { installHistory } from './install-history.ts'
import { JobQueue } from './job-queue.ts'
import { isOpen } from './job-record.ts'
import { readPolicyFile, type PolicyState } from './policy-file.ts'
import { defaultPowerReader, type PowerReader } from './power-signals.ts'
import { ProductChecks } from './product-checks.ts'
import { managedProductRow, productIdFor, productView } from './product-record.ts'
import { normalizePublicKey } from './publisher-key.ts'
import { SeedManager } from './seed-manager.ts'

export const AGENT_VERSION = '0.1.0'

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

const TICK_MS = 500
const SHARING_REFRESH_MS = 30_000

export class Agent {
  readonly startedAt: string
  readonly hub: EventHub
  readonly limits: LiveLimits
  private readonly o: AgentOptions
  private readonly now: () => Date
  private readonly power: PowerReader
  private readonly queue: JobQueue
  private readonly checks: ProductChecks
  private policy: PolicyState = { loaded: false, error: null, value: NO_POLICY }
  private sharing: SharingDecision = { upload: false, wan: false, reason: 'not checked yet' }
  private stopping = false
  private stopped: Promise<void> | undefined
  private tick: NodeJS.Timeout | undefined
  private lastSharingRefresh = 0
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
      job: (id) => this.queue.get(id),
      products: () => this.products(),
      settingsEvent: () => ({ ...this.settingsView(), paused: this.queue.paused }),
    })
    this.queue = new JobQueue({
      db: o.db,
      hub: this.hub,
      now: this.now,
      limits: this.limits,
      connections: o.connections ?? 4,
      peerStallMs: o.peerStallMs ?? 5000,
      lsd: o.lsd,
      admissionKey: o.admissionKey,
      settings: () => this.settings(),
      trackerToken: () => this.trackerToken(),
      product: (id) => this.requireProduct(id),
      applyLimits: () => this.applyLimits(),
      reconcileSeeds: () => this.reconcileSeeds(),
    })
    this.checks = new ProductChecks({
      db: o.db,
      hub: this.hub,
      now: this.now,
      random: () => this.random(),
      settings: () => this.settings(),
      product: (id) => this.requireProduct(id),
      managed: (id) => this.policy.value.products.some((m) => m.id === id),
      hasOpenJob: (productId) => this.queue.all().some((j) => j.productId === productId && isOpen(j)),
      createJob: (req) => this.createJob(req),
    })
  }

  async start(): Promise<void> {
    await this.loadPolicy()
    this.queue.load(listAgentJobs(this.o.db))
    await this.refreshSharing()
    await this.reconcileSeeds()
    this.tick = setInterval(() => this.onTick(), TICK_MS)
    this.tick.unref()
    if (this.o.periodicChecks !== false) for (const p of listProducts(this.o.db)) this.checks.plan(p.id, 0.02 + 0.05 * this.random())
    this.queue.schedule()
  }

  /** Stops every transfer; their checkpoints stay and the next start resumes them. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= this.shutDown()
    return this.stopped
  }

  private async shutDown(): Promise<void> {
    this.stopping = true
    clearInterval(this.tick)
    this.checks.stop()
    await this.queue.shutDown()
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
    return this.queue.get(id)
  }

  /** The managed policy's tracker token (the enrollment credential for peer passes), else --tracker-token-file's. */
  private trackerToken(): string | undefined {
    return this.policy.value.trackerToken ?? this.o.trackerToken
  }

  /** Peers refused admission by this agent's seeds and jobs since it started, by reason. */
  private peerRefusals(): Refusals {
    const all = this.seeds.refusals()
    addRefusals(all, this.queue.refusals())
    return all
  }

  status(): Status {
    const settings = this.settings()
    const caps = effectiveCaps(settings, this.now())
    return {
      apiVersion: API_VERSION,
      agentVersion: AGENT_VERSION,
      startedAt: this.startedAt,
      paused: this.queue.paused,
      products: this.products(),
      jobs: this.queue.all(),
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
    if (this.o.periodicChecks !== false) this.checks.plan(id, 0)
    return this.productView(row)
  }

  async removeProduct(id: string): Promise<void> {
    this.requireProduct(id)
    if (this.policy.value.locked.includes(`products.${id}`)) throw new AgentError(403, 'E_LOCKED', `product ${id} is set by the managed policy and cannot be removed`)
    await this.queue.removeProduct(id)
    this.checks.cancel(id)
    this.o.db.transaction(() => {
      deleteProduct(this.o.db, id)
      deleteAgentJobsOfProduct(this.o.db, id)
    })()
    this.hub.productsChanged()
  }

  /** Resolves the channel now; with `auto`, a found update is queued as the settings say. */
  async checkProduct(id: string, auto = false): Promise<Product> {
    return this.productView(await this.checks.check(id, auto))
  }

  // ---- jobs ----

  createJob(req: CreateJobRequest): Job {
    return this.queue.create(req, this.requireProduct(req.productId))
  }

  jobAction(id: string, action: JobAction): Promise<Job> {
    return this.queue.action(id, action)
  }

  async setPausedAll(paused: boolean): Promise<void> {
    await this.queue.setPausedAll(paused)
    this.hub.settingsChanged()
    this.queue.schedule()
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
    this.queue.wakeWaiters()
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
    const job = this.queue.all().find((j) => j.productId === p.id && (j.state === 'running' || j.state === 'waiting'))
    return productView(p, installedVersion(this.o.db, p.installDir), job, this.policy.value.products.some((m) => m.id === p.id))
  }

  /** Reads the managed policy (an invalid one is reported and replaced by safe defaults) and records its products. */
  private async loadPolicy(): Promise<void> {
    this.policy = await readPolicyFile(this.o.policyPath)
    const rows = listProducts(this.o.db)
    for (const m of this.policy.value.products) saveProduct(this.o.db, managedProductRow(m, rows.find((r) => r.id === m.id)), this.now())
  }

  /** Caps, schedule, sharing and background mode, as rates the running transfers follow. */
  private applyLimits(): void {
    const t = Date.now()
    const running = this.queue.transfers(t)
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
    this.queue.tick(t)
    if (t - this.lastSharingRefresh >= SHARING_REFRESH_MS) void this.refreshSharing().then(() => this.reconcileSeeds())
    this.applyLimits()
  }

  /** Seeds what the sharing policy allows; a product with an open job is left alone until it ends. */
  private reconcileSeeds(): Promise<void> {
    this.applyLimits()
    if (this.stopping) return Promise.resolve()
    const busy = new Set(this.queue.all().filter(isOpen).map((j) => j.productId))
    // The upload cap is shared by the seeds: re-applied once they have changed.
    return this.seeds.reconcile(listProducts(this.o.db), this.sharing, this.settings().sharing.seedRetentionDays, busy).then(() => this.applyLimits())
  }
}
