// The contract between `shoal agent` and its clients (CLI, desktop renderer, Electron main).
// Every request and message is validated against these schemas on both sides.
import { z } from 'zod'

export const API_VERSION = 1

/** Where a byte came from; `wasted` counts duplicates and bytes that failed verification. */
export const sourceBytesSchema = z.object({
  cdn: z.number().int().nonnegative(),
  lan: z.number().int().nonnegative(),
  wan: z.number().int().nonnegative(),
  local: z.number().int().nonnegative(),
  wasted: z.number().int().nonnegative(),
})
export type ApiSourceBytes = z.infer<typeof sourceBytesSchema>

/** Bytes per second received per network class, for the stacked speed chart. */
export const sourceRatesSchema = z.object({
  cdn: z.number().nonnegative(),
  lan: z.number().nonnegative(),
  wan: z.number().nonnegative(),
})
export type SourceRates = z.infer<typeof sourceRatesSchema>

export const errorInfoSchema = z.object({ code: z.string(), message: z.string() })
export type ErrorInfo = z.infer<typeof errorInfoSchema>

export const JOB_KINDS = ['install', 'update', 'verify', 'rollback'] as const
export const JOB_STATES = ['queued', 'running', 'paused', 'waiting', 'done', 'failed', 'cancelled'] as const
export const TRANSFER_MODES = ['foreground', 'background'] as const

export const jobSchema = z.object({
  id: z.string(),
  productId: z.string(),
  kind: z.enum(JOB_KINDS),
  state: z.enum(JOB_STATES),
  /** Why a job is `waiting` (schedule window, disk space) or what it is doing while `running`. */
  detail: z.string().nullable(),
  mode: z.enum(TRANSFER_MODES),
  priority: z.number().int(),
  fromVersion: z.string().nullable(),
  version: z.string().nullable(),
  bytesTotal: z.number().int().nonnegative(),
  bytesDone: z.number().int().nonnegative(),
  rates: sourceRatesSchema,
  etaSeconds: z.number().nonnegative().nullable(),
  bytes: sourceBytesSchema,
  /** (lan + wan) / (cdn + lan + wan) of this job's downloaded bytes. */
  offload: z.number().min(0).max(1),
  peers: z.object({ lan: z.number().int().nonnegative(), wan: z.number().int().nonnegative() }),
  error: errorInfoSchema.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
})
export type Job = z.infer<typeof jobSchema>

export const PRODUCT_STATES = ['idle', 'checking', 'update-available', 'downloading', 'installing', 'up-to-date', 'error'] as const

export const productSchema = z.object({
  id: z.string(),
  name: z.string(),
  channelUrl: z.string(),
  /** base64 of the raw 32-byte ed25519 publisher key. */
  publicKey: z.string(),
  installDir: z.string(),
  installedVersion: z.string().nullable(),
  availableVersion: z.string().nullable(),
  state: z.enum(PRODUCT_STATES),
  error: errorInfoSchema.nullable(),
  lastCheckAt: z.string().nullable(),
  /** Set by the managed policy: the product cannot be removed from the UI. */
  managed: z.boolean(),
})
export type Product = z.infer<typeof productSchema>

/** A rate in bytes per second; null means unlimited. */
const rateCap = z.number().int().positive().nullable()

export const capsSchema = z.object({
  down: z.object({ global: rateCap, cdn: rateCap, peers: rateCap }),
  up: z.object({ global: rateCap, peers: rateCap }),
})
export type Caps = z.infer<typeof capsSchema>

/** One schedule rule: on these weekdays (0 = Sunday), from `fromHour` to `toHour` (local time), these caps apply. */
export const scheduleRuleSchema = z.object({
  days: z.array(z.number().int().min(0).max(6)).min(1),
  fromHour: z.number().int().min(0).max(23),
  toHour: z.number().int().min(1).max(24),
  down: rateCap,
  up: rateCap,
})
export type ScheduleRule = z.infer<typeof scheduleRuleSchema>

export const SHARING_MODES = ['off', 'lan', 'lan+wan'] as const

/**
 * A week. Node's timers hold at most 2^31 - 1 ms (24.8 days) and fire after 1 ms beyond that: a
 * larger interval made the agent check its channels without pause. A week, plus the check's
 * jitter, stays well inside.
 */
export const MAX_CHECK_INTERVAL_MINUTES = 7 * 24 * 60

/** A site or group id as peers announce it: short, and safe as a metric label. */
export const SITE_ID = /^[A-Za-z0-9._:/-]{1,64}$/

export const settingsSchema = z.object({
  caps: capsSchema,
  schedule: z.object({
    /** IANA time zone; the rules are read in this zone's local time. */
    timeZone: z.string(),
    rules: z.array(scheduleRuleSchema),
    /** Updates found in the background install only inside these hours (null: any time). */
    installWindow: z.object({ fromHour: z.number().int().min(0).max(23), toHour: z.number().int().min(1).max(24) }).nullable(),
  }),
  /** How updates found by the periodic check download. */
  updateMode: z.enum(TRANSFER_MODES),
  sharing: z.object({
    /** Whether the user answered the first-run consent screen. */
    consentGiven: z.boolean(),
    mode: z.enum(SHARING_MODES),
    monthlyUploadCap: z.number().int().positive().nullable(),
    uploadOnBattery: z.boolean(),
    uploadOnMetered: z.boolean(),
    minFreeDisk: z.number().int().nonnegative(),
    seedRetentionDays: z.number().int().nonnegative(),
    /** Site or group id told to the tracker (as Delivery Optimization's group id); the subnet when unset. */
    site: z.string().regex(SITE_ID).optional(),
  }),
  checkIntervalMinutes: z.number().int().min(1).max(MAX_CHECK_INTERVAL_MINUTES),
  /** Opt-in: report per-job offload to the tracker. */
  reportOffload: z.boolean(),
})
export type Settings = z.infer<typeof settingsSchema>

/** A recursive partial of Settings: what PATCH /api/settings takes. */
export const settingsPatchSchema = z
  .object({
    caps: z
      .object({
        down: capsSchema.shape.down.partial(),
        up: capsSchema.shape.up.partial(),
      })
      .partial(),
    schedule: settingsSchema.shape.schedule.partial(),
    updateMode: settingsSchema.shape.updateMode,
    sharing: settingsSchema.shape.sharing.partial(),
    checkIntervalMinutes: settingsSchema.shape.checkIntervalMinutes,
    reportOffload: settingsSchema.shape.reportOffload,
  })
  .partial()
  .strict()
export type SettingsPatch = z.infer<typeof settingsPatchSchema>

/** Dotted paths of settings fixed by the managed policy, e.g. "caps.down.global", "sharing.mode". */
export const lockedSchema = z.array(z.string())

export const policyStatusSchema = z.object({
  path: z.string(),
  loaded: z.boolean(),
  /** A policy file that exists but is invalid: the agent runs on safe defaults and says why here. */
  error: z.string().nullable(),
})

export const settingsViewSchema = z.object({ settings: settingsSchema, locked: lockedSchema })
export type SettingsView = z.infer<typeof settingsViewSchema>

export const statusSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  agentVersion: z.string(),
  startedAt: z.string(),
  paused: z.boolean(),
  products: z.array(productSchema),
  jobs: z.array(jobSchema),
  settings: settingsSchema,
  locked: lockedSchema,
  policy: policyStatusSchema,
  /** Effective rate limits now, after schedule and policy: bytes per second, null unlimited. */
  effectiveCaps: z.object({ down: rateCap, up: rateCap }),
  /**
   * Whether this machine uploads now, why not, and the products it seeds; `peerRefusals`: peers
   * its seeds and jobs refused admission to a swarm since the agent started, by reason;
   * `seedProblems`: products the policy would seed that could not start, with the reason.
   */
  sharing: z.object({ uploading: z.boolean(), reason: z.string().nullable(), seeding: z.array(z.string()), peerRefusals: z.record(z.string(), z.number().int().nonnegative()).optional(), seedProblems: z.record(z.string(), z.string()).optional() }).optional(),
})
export type Status = z.infer<typeof statusSchema>

export const historyEntrySchema = z.object({
  id: z.number().int(),
  productId: z.string(),
  fromVersion: z.string().nullable(),
  version: z.string(),
  finishedAt: z.string(),
  seconds: z.number().nonnegative(),
  bytes: sourceBytesSchema,
})
export const historySchema = z.object({
  entries: z.array(historyEntrySchema),
  /** Per calendar month ("2026-11"): bytes peers carried (lan + wan), i.e. CDN bytes saved, and CDN bytes. */
  monthly: z.array(z.object({ month: z.string(), saved: z.number().int().nonnegative(), cdn: z.number().int().nonnegative(), uploaded: z.number().int().nonnegative() })),
})
export type History = z.infer<typeof historySchema>

/**
 * A URL the agent fetches releases from: http or https only. `file:` would let any API client
 * have the agent read local files; the CLI still takes `file:` (its user reads their own files).
 */
export const fetchUrlSchema = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' })

// Requests
export const addProductRequestSchema = z
  .object({
    channelUrl: fetchUrlSchema,
    publicKey: z.string().min(1),
    installDir: z.string().min(1),
    name: z.string().min(1).optional(),
    mirrors: z.array(fetchUrlSchema).optional(),
  })
  .strict()
export type AddProductRequest = z.infer<typeof addProductRequestSchema>

export const createJobRequestSchema = z
  .object({
    productId: z.string(),
    kind: z.enum(JOB_KINDS),
    mode: z.enum(TRANSFER_MODES).optional(),
    priority: z.number().int().optional(),
  })
  .strict()
export type CreateJobRequest = z.infer<typeof createJobRequestSchema>

export const JOB_ACTIONS = ['pause', 'resume', 'cancel'] as const
export type JobAction = (typeof JOB_ACTIONS)[number]
export const jobActionSchema = z.enum(JOB_ACTIONS)

/** POST /api/pause and /api/resume take no fields (an empty object or no body). */
export const setPausedRequestSchema = z.object({}).strict()

/** What a client may send on /api/events: `refresh` asks for a new snapshot. */
export const clientMessageSchema = z.object({ type: z.literal('refresh') }).strict()
export type ClientMessage = z.infer<typeof clientMessageSchema>

export const apiErrorSchema = z.object({ error: errorInfoSchema })

// Events on the WebSocket /api/events, coalesced to at most 4 per second.
export const apiEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('snapshot'), status: statusSchema }),
  /** Only the jobs that changed since the last event; `removed` lists job ids gone from the list. */
  z.object({ type: z.literal('jobs'), jobs: z.array(jobSchema), removed: z.array(z.string()) }),
  z.object({ type: z.literal('products'), products: z.array(productSchema) }),
  z.object({ type: z.literal('settings'), settings: settingsSchema, locked: lockedSchema, paused: z.boolean() }),
  z.object({ type: z.literal('notice'), level: z.enum(['info', 'warning']), message: z.string(), productId: z.string().nullable() }),
])
export type ApiEvent = z.infer<typeof apiEventSchema>

/** HTTP routes of the local control API, all under 127.0.0.1 with `Authorization: Bearer TOKEN`. */
export const API_ROUTES = {
  status: 'GET /api/status',
  products: 'GET /api/products',
  addProduct: 'POST /api/products',
  removeProduct: 'DELETE /api/products/:id',
  checkProduct: 'POST /api/products/:id/check',
  jobs: 'GET /api/jobs',
  createJob: 'POST /api/jobs',
  jobAction: 'POST /api/jobs/:id/:action',
  pauseAll: 'POST /api/pause',
  resumeAll: 'POST /api/resume',
  settings: 'GET /api/settings',
  patchSettings: 'PATCH /api/settings',
  history: 'GET /api/history',
  // Browsers cannot set headers on a WebSocket: the token travels as `?token=` there.
  events: 'GET /api/events',
} as const

/** What every UI talks to, whatever carries it (Electron preload bridge or HTTP + WebSocket). */
export interface ShoalClient {
  status(): Promise<Status>
  addProduct(request: AddProductRequest): Promise<Product>
  removeProduct(productId: string): Promise<void>
  checkProduct(productId: string): Promise<Product>
  createJob(request: CreateJobRequest): Promise<Job>
  jobAction(jobId: string, action: JobAction): Promise<Job>
  setPausedAll(paused: boolean): Promise<void>
  patchSettings(patch: SettingsPatch): Promise<SettingsView>
  history(): Promise<History>
  /** Calls `onEvent` with a snapshot first, then changes; returns a function that unsubscribes. */
  subscribe(onEvent: (event: ApiEvent) => void): () => void
}
