// The agent's jobs: queued by priority, one transferring at a time (a higher-priority job takes
// over from a lower one), paused, resumed or cancelled on request, and recorded in agent_jobs so
// that a restart resumes them. What a running job does is in job-run.ts.
import { randomUUID } from 'node:crypto'
import type { CreateJobRequest, Job, JobAction } from '../../shared/api-contract.ts'
import { addRefusals, type JobResult, type Refusals } from '../engine/engine.ts'
import { createLedbat } from '../policy/ledbat.ts'
import type { RunningTransfer } from '../policy/transfer-rates.ts'
import { deleteAgentJob, saveAgentJob } from '../store/agent-jobs-table.ts'
import { installedVersion } from '../store/installs-table.ts'
import { listProducts, saveProduct, type ProductRow } from '../store/products-table.ts'
import { AgentError } from './agent-error.ts'
import type { EventHub } from './event-hub.ts'
import { discardStaging } from './job-engine.ts'
import { errorInfo, isOpen, newJob } from './job-record.ts'
import { executeJob, type Active, type RunContext, type StopReason } from './job-run.ts'
import { reportJobOffload } from './offload-report.ts'
import { publicKeyObject } from './publisher-key.ts'
import { RateWindow } from './rate-window.ts'

export interface QueueContext extends Omit<RunContext, 'update' | 'schedule' | 'windowWaiters'> {
  readonly hub: EventHub
  /** Seeds follow the jobs: a product with an open job is not seeded. */
  readonly reconcileSeeds: () => Promise<void>
}

export class JobQueue {
  private readonly c: QueueContext
  private readonly jobs = new Map<string, Job>()
  private readonly active = new Map<string, Active>()
  /** Background jobs waiting for the install window; woken when settings change or a job is stopped. */
  private readonly windowWaiters = new Set<() => void>()
  /** Admission refusals of finished jobs' swarms. */
  private readonly jobRefusals: Refusals = {}
  private pausedAll = false
  private stopping = false

  constructor(c: QueueContext) {
    this.c = c
  }

  /** The jobs recorded before the agent started. */
  load(saved: readonly Job[]): void {
    for (const job of saved) {
      // A job that was running when the agent stopped (SIGTERM or a crash) runs again and resumes from its checkpoint.
      if (job.state === 'running' || job.state === 'waiting') Object.assign(job, { state: 'queued', detail: 'resumed after a restart' })
      this.jobs.set(job.id, job)
    }
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id)
  }

  all(): Job[] {
    return [...this.jobs.values()]
  }

  get paused(): boolean {
    return this.pausedAll
  }

  /** Admission refusals of finished jobs' swarms since the agent started. */
  refusals(): Refusals {
    return this.jobRefusals
  }

  create(req: CreateJobRequest, product: ProductRow): Job {
    if (this.all().some((j) => j.productId === product.id && isOpen(j))) throw new AgentError(409, 'E_BUSY', `product ${product.id} already has a job; pause, resume or cancel it`)
    const job = newJob(randomUUID(), req, product, installedVersion(this.c.db, product.installDir), this.c.now().toISOString())
    this.jobs.set(job.id, job)
    this.save(job)
    this.schedule()
    return job
  }

  async action(id: string, action: JobAction): Promise<Job> {
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

  /** Pausing all requeues the transfers running now; the caller schedules again. */
  async setPausedAll(paused: boolean): Promise<void> {
    this.pausedAll = paused
    if (paused) await Promise.all([...this.active.values()].map((a) => this.interrupt(a, 'requeue')))
  }

  /** Cancels the product's open and failed jobs, then forgets all of its jobs. */
  async removeProduct(id: string): Promise<void> {
    for (const job of this.jobs.values()) if (job.productId === id && (isOpen(job) || job.state === 'failed')) await this.action(job.id, 'cancel')
    for (const job of this.all()) if (job.productId === id) this.forget(job.id)
  }

  /** Settings changed: a job waiting for the install window looks again. */
  wakeWaiters(): void {
    for (const wake of this.windowWaiters) wake()
  }

  /** Stops every transfer; their checkpoints stay and the next start resumes them. */
  async shutDown(): Promise<void> {
    this.stopping = true
    for (const [, a] of this.active) {
      a.reason = 'shutdown'
      a.controller.abort(new Error('the agent is shutting down'))
    }
    await Promise.all([...this.active.values()].map((a) => a.done))
  }

  /** Each running job's rates and time left as of `t`, saved and announced. */
  tick(t: number): void {
    for (const [id, a] of this.active) {
      const job = this.jobs.get(id)
      if (!job || job.state !== 'running') continue
      job.rates = a.window.rates(t)
      const rate = job.rates.cdn + job.rates.lan + job.rates.wan
      job.etaSeconds = rate > 0 && job.bytesTotal > 0 ? Math.max(0, job.bytesTotal - job.bytesDone) / rate : null
      this.save(job)
    }
  }

  /** The transfers running at `t`, for the live rate limits. */
  transfers(t: number): RunningTransfer[] {
    return [...this.active].flatMap(([id, a]): RunningTransfer[] => {
      const job = this.jobs.get(id)
      if (job?.state !== 'running') return []
      const rates = a.window.rates(t)
      return [{ peersConnected: job.peers.lan + job.peers.wan, peerRate: rates.lan + rates.wan, ledbatRate: a.ledbat?.rate }]
    })
  }

  /** Starts the best queued job when nothing transfers; a higher-priority job takes over from a lower one. */
  schedule(): void {
    if (this.stopping) return
    const queued = this.all().filter((j) => j.state === 'queued').sort((a, b) => b.priority - a.priority || a.createdAt.localeCompare(b.createdAt))
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

  private save(job: Job): void {
    job.updatedAt = this.c.now().toISOString()
    saveAgentJob(this.c.db, job)
    this.c.hub.jobChanged(job.id)
  }

  private update(job: Job, fields: Partial<Job>): void {
    Object.assign(job, fields)
    if (job.state !== 'running') {
      job.rates = { cdn: 0, lan: 0, wan: 0 }
      job.etaSeconds = null
    }
    this.save(job)
    this.c.hub.productsChanged()
  }

  private forget(id: string): void {
    this.jobs.delete(id)
    deleteAgentJob(this.c.db, id)
    this.c.hub.jobRemoved(id)
  }

  /** Stops a running job's transfers now; it settles into the state the reason says. */
  private async interrupt(a: Active, reason: StopReason): Promise<void> {
    a.reason = reason
    a.controller.abort(new Error(`job ${reason}`))
    this.wakeWaiters()
    await a.done
  }

  private run(job: Job): void {
    const controller = new AbortController()
    const active: Active = { controller, reason: undefined, done: Promise.resolve(), window: new RateWindow(), ledbat: job.mode === 'background' ? createLedbat() : undefined }
    this.update(job, { state: 'running', detail: null, error: null })
    const run: RunContext = { ...this.c, update: (j, fields) => this.update(j, fields), schedule: () => this.schedule(), windowWaiters: this.windowWaiters }
    const done = executeJob(job, active, run).then(
      (result) => this.finished(job, active, result, undefined),
      (err: unknown) => this.finished(job, active, undefined, err),
    )
    this.active.set(job.id, Object.assign(active, { done }))
    void this.c.reconcileSeeds()
  }

  private async finished(job: Job, a: Active, result: JobResult | undefined, err: unknown): Promise<void> {
    this.active.delete(job.id)
    job.rates = { cdn: 0, lan: 0, wan: 0 }
    if (err === undefined) {
      if (result) addRefusals(this.jobRefusals, result.peerRefusals)
      if (result) Object.assign(job, { version: result.version, fromVersion: result.fromVersion ?? null, bytes: { ...result.bytes, wasted: 0 }, bytesDone: result.totalBytes, bytesTotal: result.totalBytes })
      this.update(job, { state: 'done', detail: result?.upToDate ? 'already up to date' : null, etaSeconds: null })
      const p = listProducts(this.c.db).find((x) => x.id === job.productId)
      if (p) {
        Object.assign(p, { availableVersion: null, state: 'up-to-date', error: null })
        saveProduct(this.c.db, p, this.c.now())
        if (result && !result.upToDate && this.c.settings().reportOffload) void reportJobOffload(this.c.db, p.installDir, publicKeyObject(p.publicKey), this.c.trackerToken(), result.bytes, result.peerRefusals)
      }
    } else if (a.reason === 'shutdown') {
      // Left as it was for the next start, which resumes it.
      saveAgentJob(this.c.db, { ...job, state: 'queued' })
    } else if (a.reason === 'pause') this.update(job, { state: 'paused', detail: null })
    else if (a.reason === 'requeue') this.update(job, { state: 'queued', detail: this.pausedAll ? 'all transfers paused' : 'waiting for a higher-priority job' })
    else if (a.reason === 'cancel') {
      this.update(job, { state: 'cancelled', detail: null })
      await this.discardStaging(job)
    } else this.update(job, { state: 'failed', detail: null, error: errorInfo(err) })
    this.c.hub.productsChanged()
    void this.c.reconcileSeeds()
    this.schedule()
  }

  private async discardStaging(job: Job): Promise<void> {
    const product = listProducts(this.c.db).find((p) => p.id === job.productId)
    if (product && (job.kind === 'install' || job.kind === 'update')) await discardStaging(this.c.db, product.installDir)
  }
}
