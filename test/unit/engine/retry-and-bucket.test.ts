import { describe, expect, it } from 'vitest'
import { backoffMs, DEFAULT_RETRY, retryAfterMs } from '../../../app/engine/sources/cdn/retry-policy.ts'
import { createBucket, reserve } from '../../../app/policy/token-bucket.ts'

describe('retry policy', () => {
  it('backs off exponentially with jitter, capped, and honours Retry-After', () => {
    expect(backoffMs(DEFAULT_RETRY, 0, 1, undefined)).toBe(250)
    expect(backoffMs(DEFAULT_RETRY, 3, 1, undefined)).toBe(2000)
    expect(backoffMs(DEFAULT_RETRY, 10, 1, undefined)).toBe(8000)
    expect(backoffMs(DEFAULT_RETRY, 3, 0.5, undefined)).toBe(1000)
    expect(backoffMs(DEFAULT_RETRY, 0, 1, 3000)).toBe(3000)
  })
  it('reads Retry-After as seconds or a date', () => {
    expect(retryAfterMs('2', 0)).toBe(2000)
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000)
    expect(retryAfterMs('9999', 0)).toBe(60_000)
    expect(retryAfterMs('soon', 0)).toBeUndefined()
    expect(retryAfterMs(undefined, 0)).toBeUndefined()
  })
})

describe('token bucket', () => {
  it('holds a long-run rate of `rate` bytes per second', () => {
    const rate = 1_000_000
    const b = createBucket(rate, 0)
    let now = 0
    let sent = 0
    // Ask for 64 KiB at a time and wait as told, for ten simulated seconds.
    while (now < 10_000) {
      now += reserve(b, 65_536, now)
      sent += 65_536
    }
    expect(sent / (now / 1000)).toBeGreaterThan(rate * 0.97)
    expect(sent / (now / 1000)).toBeLessThan(rate * 1.03)
  })
  it('lets a burst through at once and is a no-op at rate 0', () => {
    expect(reserve(createBucket(1_000_000, 0), 100_000, 0)).toBe(0)
    expect(reserve(createBucket(0, 0), 10 ** 12, 0)).toBe(0)
  })
})
