// Background mode's rate controller, after LEDBAT (RFC 6817) but rate-based: it
// watches the delay of CDN requests, learns the path's base delay (the lowest seen
// lately), and treats anything above it as a queue that someone's traffic built.
// Below the target queueing delay the rate grows; above it the rate falls, fast.
// Pure: samples and the clock come in, a rate goes out.

export interface LedbatConfig {
  /** Queueing delay to aim at; above it the rate falls. RFC 6817 caps this at 100 ms. */
  readonly targetMs: number
  readonly minRate: number
  readonly maxRate: number
  readonly initialRate: number
  /** Relative step per 100 ms: up to +gain at zero queueing, down to -2 x gain far above the target. */
  readonly gain: number
  /** The base delay is the lowest delay seen within this window. */
  readonly baseWindowMs: number
  /** The current delay is the lowest of this many recent samples (filters out one-off spikes). */
  readonly currentSamples: number
}

export const DEFAULT_LEDBAT: LedbatConfig = {
  targetMs: 50,
  minRate: 256 * 1024,
  maxRate: 1024 * 1024 * 1024,
  initialRate: 4 * 1024 * 1024,
  gain: 0.15,
  baseWindowMs: 120_000,
  currentSamples: 3,
}

const BUCKET_MS = 10_000
const STEP_MS = 100

export interface LedbatState {
  rate: number
  /** Lowest delay per 10 s bucket over the base window. */
  readonly baseBuckets: { start: number; min: number }[]
  readonly recent: number[]
  queueingMs: number
  /** Time of the previous sample: steps scale with the time between samples, not their number. */
  lastAt: number | undefined
}

export interface LedbatSample {
  /** Request to first response byte, in ms. */
  readonly delayMs: number
  /** What the transfer achieved lately, bytes per second (all connections together). */
  readonly throughput: number
}

export function createLedbat(config: LedbatConfig = DEFAULT_LEDBAT): LedbatState {
  return { rate: config.initialRate, baseBuckets: [], recent: [], queueingMs: 0, lastAt: undefined }
}

export function baseDelay(state: LedbatState): number {
  return Math.min(...state.baseBuckets.map((b) => b.min))
}

/** Feeds one sample and returns the new rate in bytes per second. */
export function ledbatSample(state: LedbatState, sample: LedbatSample, now: number, config: LedbatConfig = DEFAULT_LEDBAT): number {
  const buckets = state.baseBuckets
  const last = buckets.at(-1)
  if (last && now - last.start < BUCKET_MS) last.min = Math.min(last.min, sample.delayMs)
  else buckets.push({ start: now, min: sample.delayMs })
  while (buckets.length > 1 && now - buckets[0]!.start > config.baseWindowMs) buckets.shift()
  state.recent.push(sample.delayMs)
  if (state.recent.length > config.currentSamples) state.recent.shift()

  const queueing = Math.max(0, Math.min(...state.recent) - baseDelay(state))
  state.queueingMs = queueing
  const offTarget = Math.max(-1, Math.min(1, (config.targetMs - queueing) / config.targetMs))
  const step = offTarget >= 0 ? config.gain * offTarget : Math.max(-0.5, 2 * config.gain * offTarget)
  const elapsed = state.lastAt === undefined ? STEP_MS : Math.min(1000, Math.max(0, now - state.lastAt))
  state.lastAt = now
  let rate = state.rate * Math.pow(1 + step, elapsed / STEP_MS)
  // Like LEDBAT's rule against growing an unused window: a rate far above what the path
  // delivers says nothing, so growth stops at four times the throughput seen.
  if (step > 0 && sample.throughput > 0) rate = Math.min(rate, Math.max(state.rate, 4 * sample.throughput))
  state.rate = Math.max(config.minRate, Math.min(config.maxRate, rate))
  return state.rate
}
