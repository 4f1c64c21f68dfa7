// Pure: how long to wait before the next attempt. Exponential backoff with full
// jitter, and a server's Retry-After wins when it asks for longer.

export interface RetryPolicy {
  readonly attempts: number
  readonly baseMs: number
  readonly maxMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseMs: 250, maxMs: 8_000 }
const MAX_RETRY_AFTER_MS = 60_000

/** Milliseconds a Retry-After header asks for (seconds or an HTTP date), capped at a minute. */
export function retryAfterMs(header: string | undefined, now: number): number | undefined {
  if (!header) return undefined
  const seconds = Number(header)
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS) : undefined
}

export function backoffMs(policy: RetryPolicy, attempt: number, random: number, retryAfter: number | undefined): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt)
  const jittered = random * ceiling
  return retryAfter !== undefined ? Math.max(retryAfter, jittered) : jittered
}
