// The contract between `shoal agent` and its clients (CLI, desktop renderer, Electron main).
// Every request and message is validated against these schemas on both sides.
import * as v from 'valibot'
import { httpUrl, int, plainObject, record } from './schema-rules.ts'

export const API_VERSION = 1

const count = int(0)
const nonNegative = v.pipe(v.number(), v.finite(), v.minValue(0))

/** Where a byte came from; `wasted` counts duplicates and bytes that failed verification. */
export const sourceBytesSchema = v.object({
  cdn: count,
  lan: count,
  wan: count,
  local: count,
  wasted: count,
})
export type ApiSourceBytes = v.InferOutput<typeof sourceBytesSchema>

/** Bytes per second received per network class, for the stacked speed chart. */
export const sourceRatesSchema = v.object({
  cdn: nonNegative,
  lan: nonNegative,
  wan: nonNegative,
})
export type SourceRates = v.InferOutput<typeof sourceRatesSchema>

export const errorInfoSchema = v.object({ code: v.string(), message: v.string() })
export type ErrorInfo = v.InferOutput<typeof errorInfoSchema>

export const JOB_KINDS = ['install', 'update', 'verify', 'rollback'] as const
export const JOB_STATES = ['queued', 'running', 'paused', 'waiting', 'done', 'failed', 'cancelled'] as const
export const TRANSFER_MODES = ['foreground', 'background'] as const

export const jobSchema = v.object({
  id: v.string(),
  productId: v.string(),
  kind: v.picklist(JOB_KINDS),
  state: v.picklist(JOB_STATES),
  /** Why a job is `waiting` (schedule window, disk space) or what it is doing while `running`. */
  detail: v.nullable(v.string()),
  mode: v.picklist(TRANSFER_MODES),
  priority: int(),
  fromVersion: v.nullable(v.string()),
  version: v.nullable(v.string()),
  bytesTotal: count,
  bytesDone: count,
  rates: sourceRatesSchema,
  etaSeconds: v.nullable(nonNegative),
  bytes: sourceBytesSchema,
  /** (lan + wan) / (cdn + lan + wan) of this job's downloaded bytes. */
  offload: v.pipe(v.number(), v.minValue(0), v.maxValue(1)),
  peers: v.object({ lan: count, wan: count }),
  error: v.nullable(errorInfoSchema),
  createdAt: v.string(),
  updatedAt: v.string(),
})
export type Job = v.InferOutput<typeof jobSchema>

export const PRODUCT_STATES = ['idle', 'checking', 'update-available', 'downloading', 'installing', 'up-to-date', 'error'] as const

export const productSchema = v.object({
  id: v.string(),
  name: v.string(),
  channelUrl: v.string(),
  /** base64 of the raw 32-byte ed25519 publisher key. */
  publicKey: v.string(),
  installDir: v.string(),
  installedVersion: v.nullable(v.string()),
  availableVersion: v.nullable(v.string()),
  state: v.picklist(PRODUCT_STATES),
  error: v.nullable(errorInfoSchema),
  lastCheckAt: v.nullable(v.string()),
  /** Set by the managed policy: the product cannot be removed from the UI. */
  managed: v.boolean(),
})
export type Product = v.InferOutput<typeof productSchema>

/** A rate in bytes per second; null means unlimited. */
const rateCap = v.nullable(int(1))

export const capsSchema = v.object({
  down: v.object({ global: rateCap, cdn: rateCap, peers: rateCap }),
  up: v.object({ global: rateCap, peers: rateCap }),
})
export type Caps = v.InferOutput<typeof capsSchema>

/** One schedule rule: on these weekdays (0 = Sunday), from `fromHour` to `toHour` (local time), these caps apply. */
export const scheduleRuleSchema = v.object({
  days: v.pipe(v.array(int(0, 6)), v.minLength(1)),
  fromHour: int(0, 23),
  toHour: int(1, 24),
  down: rateCap,
  up: rateCap,
})
export type ScheduleRule = v.InferOutput<typeof scheduleRuleSchema>

export const SHARING_MODES = ['off', 'lan', 'lan+wan'] as const

/**
 * A week. Node's timers hold at most 2^31 - 1 ms (24.8 days) and fire after 1 ms beyond that: a
 * larger interval made the agent check its channels without pause. A week, plus the check's
 * jitter, stays well inside.
 */
export const MAX_CHECK_INTERVAL_MINUTES = 7 * 24 * 60

/** A site or group id as peers announce it: short, and safe as a metric label. */
export const SITE_ID = /^[A-Za-z0-9._:/-]{1,64}$/

export const settingsSchema = v.object({
  caps: capsSchema,
  schedule: v.object({
    /** IANA time zone; the rules are read in this zone's local time. */
    timeZone: v.string(),
    rules: v.array(scheduleRuleSchema),
    /** Updates found in the background install only inside these hours (null: any time). */
    installWindow: v.nullable(v.object({ fromHour: int(0, 23), toHour: int(1, 24) })),
  }),
  /** How updates found by the periodic check download. */
  updateMode: v.picklist(TRANSFER_MODES),
  sharing: v.object({
    /** Whether the user answered the first-run consent screen. */
    consentGiven: v.boolean(),
    mode: v.picklist(SHARING_MODES),
    monthlyUploadCap: v.nullable(int(1)),
    uploadOnBattery: v.boolean(),
    uploadOnMetered: v.boolean(),
    minFreeDisk: count,
    seedRetentionDays: count,
    /** Site or group id told to the tracker (as Delivery Optimization's group id); the subnet when unset. */
    site: v.optional(v.pipe(v.string(), v.regex(SITE_ID))),
  }),
  checkIntervalMinutes: int(1, MAX_CHECK_INTERVAL_MINUTES),
  /** Opt-in: report per-job offload to the tracker. */
  reportOffload: v.boolean(),
})
export type Settings = v.InferOutput<typeof settingsSchema>

/** A recursive partial of Settings: what PATCH /api/settings takes. */
export const settingsPatchSchema = plainObject(
  v.partial(
    v.strictObject({
      caps: plainObject(
        v.partial(
          v.object({
            down: plainObject(v.partial(capsSchema.entries.down)),
            up: plainObject(v.partial(capsSchema.entries.up)),
          }),
        ),
      ),
      schedule: plainObject(v.partial(settingsSchema.entries.schedule)),
      updateMode: settingsSchema.entries.updateMode,
      sharing: plainObject(v.partial(settingsSchema.entries.sharing)),
      checkIntervalMinutes: settingsSchema.entries.checkIntervalMinutes,
      reportOffload: settingsSchema.entries.reportOffload,
    }),
  ),
)
export type SettingsPatch = v.InferOutput<typeof settingsPatchSchema>

/** Dotted paths of settings fixed by the managed policy, e.g. "caps.down.global", "sharing.mode". */
export const lockedSchema = v.array(v.string())

export const policyStatusSchema = v.object({
  path: v.string(),
  loaded: v.boolean(),
  /** A policy file that exists but is invalid: the agent runs on safe defaults and says why here. */
  error: v.nullable(v.string()),
})

export const settingsViewSchema = v.object({ settings: settingsSchema, locked: lockedSchema })
export type SettingsView = v.InferOutput<typeof settingsViewSchema>

export const statusSchema = v.object({
  apiVersion: v.literal(API_VERSION),
  agentVersion: v.string(),
  startedAt: v.string(),
  paused: v.boolean(),
  products: v.array(productSchema),
  jobs: v.array(jobSchema),
  settings: settingsSchema,
  locked: lockedSchema,
  policy: policyStatusSchema,
  /** Effective rate limits now, after schedule and policy: bytes per second, null unlimited. */
  effectiveCaps: v.object({ down: rateCap, up: rateCap }),
  /**
   * Whether this machine uploads now, why not, and the products it seeds; `peerRefusals`: peers
   * its seeds and jobs refused admission to a swarm since the agent started, by reason;
   * `seedProblems`: products the policy would seed that could not start, with the reason.
   */
  sharing: v.optional(v.object({ uploading: v.boolean(), reason: v.nullable(v.string()), seeding: v.array(v.string()), peerRefusals: v.optional(record(v.string(), count)), seedProblems: v.optional(record(v.string(), v.string())) })),
})
export type Status = v.InferOutput<typeof statusSchema>

export const historyEntrySchema = v.object({
  id: int(),
  productId: v.string(),
  fromVersion: v.nullable(v.string()),
  version: v.string(),
  finishedAt: v.string(),
  seconds: nonNegative,
  bytes: sourceBytesSchema,
})
export const historySchema = v.object({
  entries: v.array(historyEntrySchema),
  /** Per calendar month ("2026-11"): bytes peers carried (lan + wan), i.e. CDN bytes saved, and CDN bytes. */
  monthly: v.array(v.object({ month: v.string(), saved: count, cdn: count, uploaded: count })),
})
export type History = v.InferOutput<typeof historySchema>

/**
 * A URL the agent fetches releases from: http or https only. `file:` would let any API client
 * have the agent read local files; the CLI still takes `file:` (its user reads their own files).
 */
export const fetchUrlSchema = httpUrl('must be an http or https URL')

// Requests
export const addProductRequestSchema = v.strictObject({
  channelUrl: fetchUrlSchema,
  publicKey: v.pipe(v.string(), v.minLength(1)),
  installDir: v.pipe(v.string(), v.minLength(1)),
  name: v.optional(v.pipe(v.string(), v.minLength(1))),
  mirrors: v.optional(v.array(fetchUrlSchema)),
})
export type AddProductRequest = v.InferOutput<typeof addProductRequestSchema>

export const createJobRequestSchema = v.strictObject({
  productId: v.string(),
  kind: v.picklist(JOB_KINDS),
  mode: v.optional(v.picklist(TRANSFER_MODES)),
  priority: v.optional(int()),
})
export type CreateJobRequest = v.InferOutput<typeof createJobRequestSchema>

export const JOB_ACTIONS = ['pause', 'resume', 'cancel'] as const
export type JobAction = (typeof JOB_ACTIONS)[number]
export const jobActionSchema = v.picklist(JOB_ACTIONS)

/** POST /api/pause and /api/resume take no fields (an empty object or no body). */
export const setPausedRequestSchema = plainObject(v.strictObject({}))

/** What a client may send on /api/events: `refresh` asks for a new snapshot. */
export const clientMessageSchema = v.strictObject({ type: v.literal('refresh') })
export type ClientMessage = v.InferOutput<typeof clientMessageSchema>

export const apiErrorSchema = v.object({ error: errorInfoSchema })

// Events on the WebSocket /api/events, coalesced to at most 4 per second.
export const apiEventSchema = v.variant('type', [
  v.object({ type: v.literal('snapshot'), status: statusSchema }),
  /** Only the jobs that changed since the last event; `removed` lists job ids gone from the list. */
  v.object({ type: v.literal('jobs'), jobs: v.array(jobSchema), removed: v.array(v.string()) }),
  v.object({ type: v.literal('products'), products: v.array(productSchema) }),
  v.object({ type: v.literal('settings'), settings: settingsSchema, locked: lockedSchema, paused: v.boolean() }),
  v.object({ type: v.literal('notice'), level: v.picklist(['info', 'warning']), message: v.string(), productId: v.nullable(v.string()) }),
])
export type ApiEvent = v.InferOutput<typeof apiEventSchema>

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
