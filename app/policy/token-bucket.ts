// Pure rate limiting: a token bucket driven by the caller's clock, so tests and the
// bench control time. Rates are bytes per second; a rate of 0 means unlimited.

export interface TokenBucket {
  readonly rate: number
  readonly burst: number
  tokens: number
  last: number
}

export function createBucket(rate: number, now: number, burst = Math.max(rate / 4, 64 * 1024)): TokenBucket {
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
