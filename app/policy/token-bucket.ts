// Pure rate limiting: a token bucket driven by the caller's clock, so tests and the
// bench control time. Rates are bytes per second; a rate of 0 means unlimited.

export interface TokenBucket {
  /** Mutable through `setRate` only, so a cap can change while a transfer runs. */
  rate: number
  burst: number
  tokens: number
  last: number
}

/** An eighth of a second: what may pass at once on top of the rate in any window. */
const defaultBurst = (rate: number) => Math.max(rate / 8, 64 * 1024)

export function createBucket(rate: number, now: number, burst = defaultBurst(rate)): TokenBucket {
  return { rate, burst, tokens: burst, last: now }
}

/** Takes `bytes` from the bucket and returns how many ms the caller must wait before using them. */
export function reserve(bucket: TokenBucket, bytes: number, now: number): number {
  if (bucket.rate <= 0) return 0
  bucket.tokens = Math.min(bucket.burst, bucket.tokens + ((now - bucket.last) / 1000) * bucket.rate)
  bucket.last = now
  bucket.tokens -= bytes
  return bucket.tokens >= 0 ? 0 : (-bucket.tokens / bucket.rate) * 1000
}

/**
 * Changes the rate of a bucket in use. Tokens earned so far are settled at the old rate; a
 * debt is kept, since those bytes were asked for already (at a higher rate it clears sooner).
 * Cutting it made every change a gift: with the agent re-splitting the cap twice a second and
 * dozens of requests reserved ahead, the CDN ran 70 % over its share.
 */
export function setRate(bucket: TokenBucket, rate: number, now: number): void {
  if (rate === bucket.rate) return
  if (bucket.rate > 0) bucket.tokens = Math.min(bucket.burst, bucket.tokens + ((now - bucket.last) / 1000) * bucket.rate)
  bucket.last = now
  bucket.rate = rate
  bucket.burst = defaultBurst(rate)
  bucket.tokens = Math.min(bucket.burst, bucket.tokens)
}
