// What one running agent job does: the engine job for its kind, with the live rate limits and
// the swarm settings, its progress copied into the job's record, background mode's delay-based
// rate control, and the wait for the install window before a background update switches in.
import type { KeyObject } from 'node:crypto'
import type { Job, Settings } from '../../shared/api-contract.ts'
import { DEFAULT_MAX_PEERS, type FetchSample, type JobOptions, type JobResult } from '../engine/engine.ts'
import { finishBoundFor } from '../policy/finish-bound.ts'
import { ledbatSample, type LedbatState } from '../policy/ledbat.ts'
import type { LiveLimits } from '../policy/live-limits.ts'
import { inInstallWindow } from '../policy/schedule.ts'
import type { ProductRow } from '../store/products-table.ts'
import type { StateDb } from '../store/state-db.ts'
import { runJobKind } from './job-engine.ts'
import { publicKeyObject } from './publisher-key.ts'
import type { RateWindow } from './rate-window.ts'

export type StopReason = 'pause' | 'cancel' | 'requeue' | 'shutdown'

/** A job while it runs: how to stop it, why it was stopped, and its rates. */
export interface Active {
  readonly controller: AbortController
  reason: StopReason | undefined
  readonly done: Promise<void>
  readonly window: RateWindow
  ledbat: LedbatState | undefined
}

export interface RunContext {
  readonly db: StateDb
  readonly now: () => Date
  readonly limits: LiveLimits
  readonly connections: number
  /** How long peers may deliver nothing before the CDN takes over. */
  readonly peerStallMs: number
  readonly lsd: boolean | undefined
  readonly admissionKey: KeyObject | undefined
  readonly settings: () => Settings
  readonly trackerToken: () => string | undefined
  /** The product's row; throws when there is none. */
  readonly product: (id: string) => ProductRow
  /** Recomputes the live rate limits from what runs now. */
  readonly applyLimits: () => void
  /** Sets fields of the job's record, saves and announces it. */
  readonly update: (job: Job, fields: Partial<Job>) => void
  /** Lets another job transfer while this one waits. */
  readonly schedule: () => void
  /** Wakes of jobs waiting for the install window; the queue calls them when settings change or a job is stopped. */
  readonly windowWaiters: Set<() => void>
}

const INSTALL_WINDOW_POLL_MS = 30_000

/** Runs the job's engine work; the job's versions are set when it was a rollback. */
export async function executeJob(job: Job, a: Active, c: RunContext): Promise<JobResult | undefined> {
  const product = c.product(job.productId)
  const publicKey = publicKeyObject(product.publicKey)
  const options: JobOptions = {
    installDir: product.installDir,
    db: c.db,
    publicKey,
    mirrors: product.mirrors.map((m) => new URL(m)),
    limitDown: 0,
    connections: c.connections,
    now: c.now,
    signal: a.controller.signal,
    limits: c.limits,
    swarm: { peers: [], trackers: [], trackerToken: c.trackerToken(), stallMs: c.peerStallMs, targetRate: 0, finishBound: finishBoundFor(job.mode), discoveryMs: 2000, limitUp: 0, maxPeers: DEFAULT_MAX_PEERS, listenHost: undefined, admissionKey: c.admissionKey, site: c.settings().sharing.site, ...(c.lsd !== undefined ? { lsd: c.lsd } : {}) },
    onProgress: (p) => {
      job.bytesDone = p.done
      job.bytesTotal = p.total
      job.bytes = { ...p.bytes }
      job.peers = { ...p.peers }
      const received = p.bytes.cdn + p.bytes.lan + p.bytes.wan
      job.offload = received > 0 ? (p.bytes.lan + p.bytes.wan) / received : 0
      a.window.add(Date.now(), p.bytes)
    },
    ...(a.ledbat ? { onCdnSample: (s: FetchSample) => onCdnSample(a, s, c) } : {}),
    beforeSwitch: () => waitForInstallWindow(job, a, c),
  }
  const run = await runJobKind(job.kind, product.channelUrl, publicKey, options)
  if (run.rolledBack) Object.assign(job, run.rolledBack)
  return run.result
}

/** Background updates switch in only inside the install window; the job waits there, abortable. */
async function waitForInstallWindow(job: Job, a: Active, c: RunContext): Promise<void> {
  if (job.mode !== 'background') return
  while (!inInstallWindow(c.settings().schedule, c.now())) {
    a.controller.signal.throwIfAborted()
    const w = c.settings().schedule.installWindow!
    c.update(job, { state: 'waiting', detail: `downloaded; installs between ${w.fromHour}:00 and ${w.toHour}:00 (${c.settings().schedule.timeZone})` })
    c.schedule()
    await new Promise<void>((wake) => {
      const timer = setTimeout(done, INSTALL_WINDOW_POLL_MS)
      function done() {
        clearTimeout(timer)
        waiters.delete(done)
        wake()
      }
      const waiters = c.windowWaiters
      waiters.add(done)
    })
  }
  if (job.state === 'waiting') c.update(job, { state: 'running', detail: 'installing' })
}

function onCdnSample(a: Active, s: FetchSample, c: RunContext): void {
  if (!a.ledbat) return
  ledbatSample(a.ledbat, { delayMs: s.headersMs, throughput: a.window.rates(Date.now()).cdn }, Date.now())
  c.applyLimits()
}
