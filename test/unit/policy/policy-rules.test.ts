import { describe, expect, it } from 'vitest'
import { nextCheckDelay } from '../../../app/policy/check-timer.ts'
import { createLedbat, ledbatSample, type LedbatConfig } from '../../../app/policy/ledbat.ts'
import { LiveLimits } from '../../../app/policy/live-limits.ts'
import { defaultPolicyPath, parsePolicy } from '../../../app/policy/managed-policy.ts'
import { applyPatch, DEFAULT_SETTINGS, lockedPathsTouched } from '../../../app/policy/settings-merge.ts'
import { sharingDecision, withinRetention } from '../../../app/policy/sharing.ts'
import { createBucket, reserve, setRate } from '../../../app/policy/token-bucket.ts'

import { MAX_CHECK_INTERVAL_MINUTES } from '../../../shared/api-contract.ts'
describe('settings layers and locks', () => {
  it('a patch merges objects and replaces values; locks cover parents and children', () => {
    const s = applyPatch(DEFAULT_SETTINGS, { caps: { down: { cdn: 1000 } }, sharing: { mode: 'lan' } })
    expect(s.caps.down).toEqual({ global: null, cdn: 1000, peers: null })
    expect(s.sharing.mode).toBe('lan')
    expect(s.sharing.minFreeDisk).toBe(DEFAULT_SETTINGS.sharing.minFreeDisk)
    expect(lockedPathsTouched({ caps: { down: { cdn: 5 } } }, ['caps.down.global'])).toEqual([])
    expect(lockedPathsTouched({ caps: { down: { global: 5 } } }, ['caps.down.global'])).toEqual(['caps.down.global'])
    expect(lockedPathsTouched({ schedule: { rules: [] } }, ['schedule'])).toEqual(['schedule.rules'])
    expect(lockedPathsTouched({ sharing: { mode: 'off' } }, ['sharing.mode.x'])).toEqual(['sharing.mode'])
  })

  it('a managed policy locks every field it sets and each product; errors are specific', () => {
    const ok = parsePolicy(JSON.stringify({ products: [{ id: 'game', channelUrl: 'https://cdn.example/game/channels/stable.json', publicKey: 'x', installDir: '/opt/game' }], settings: { caps: { up: { global: 100 } }, reportOffload: false } }))
    expect(ok).toEqual({ ok: true, policy: expect.objectContaining({ locked: ['caps.up.global', 'reportOffload', 'products.game'] }) })
    expect(parsePolicy('{')).toMatchObject({ ok: false, error: expect.stringMatching(/not JSON/) })
    expect(parsePolicy('{"settings":{"caps":{"down":{"global":"fast"}}}}')).toMatchObject({ ok: false, error: expect.stringMatching(/settings\.caps\.down\.global/) })
    expect(parsePolicy('{"surprise":1}')).toMatchObject({ ok: false })
    // The organisation's tracker token: the agent's enrollment credential for peer passes.
    expect(parsePolicy('{"trackerToken":"0123456789abcdef0123"}')).toMatchObject({ ok: true, policy: { trackerToken: '0123456789abcdef0123' } })
    expect(parsePolicy('{"trackerToken":"short"}')).toMatchObject({ ok: false, error: expect.stringMatching(/trackerToken/) })
    const product = (channelUrl: string, mirrors: string[] = []) => JSON.stringify({ products: [{ id: 'game', channelUrl, publicKey: 'x', installDir: '/opt/game', mirrors }] })
    expect(parsePolicy(product('file:///srv/game/channels/stable.json'))).toMatchObject({ ok: false, error: expect.stringMatching(/products\.0\.channelUrl: must be an http or https URL/) })
    expect(parsePolicy(product('https://cdn.example/game/channels/stable.json', ['file:///srv/cdn']))).toMatchObject({ ok: false, error: expect.stringMatching(/products\.0\.mirrors\.0/) })
    expect(parsePolicy('{"settings":{"checkIntervalMinutes":100000000}}')).toMatchObject({ ok: false, error: expect.stringMatching(/settings\.checkIntervalMinutes/) })
    expect(parsePolicy('{"settings":{"checkIntervalMinutes":10080}}')).toMatchObject({ ok: true })
    // The site or group id peers announce (issue 15), as Delivery Optimization's group id.
    expect(parsePolicy('{"settings":{"sharing":{"site":"hq-floor-3"}}}')).toEqual({ ok: true, policy: expect.objectContaining({ locked: ['sharing.site'] }) })
    expect(parsePolicy('{"settings":{"sharing":{"site":"no spaces"}}}')).toMatchObject({ ok: false, error: expect.stringMatching(/settings\.sharing\.site/) })
    expect(defaultPolicyPath('linux', {})).toBe('/etc/shoal/policy.json')
    expect(defaultPolicyPath('win32', { ProgramData: 'D:\\PD' })).toBe('D:\\PD\\Shoal\\policy.json')
    expect(defaultPolicyPath('darwin', {})).toBe('/Library/Application Support/Shoal/policy.json')
  })
})

describe('sharing', () => {
  const on = { ...DEFAULT_SETTINGS.sharing, consentGiven: true, mode: 'lan+wan' as const, monthlyUploadCap: 1000, minFreeDisk: 100 }
  const inputs = { sharing: on, signals: { onBattery: false, metered: false }, uploadedThisMonth: 0, freeDiskBytes: 1000 }
  it('needs consent and a mode, and stops on battery, metered, the monthly cap and low disk', () => {
    expect(sharingDecision(inputs)).toEqual({ upload: true, wan: true, reason: null })
    expect(sharingDecision({ ...inputs, sharing: { ...on, mode: 'lan' } })).toMatchObject({ upload: true, wan: false })
    expect(sharingDecision({ ...inputs, sharing: { ...on, consentGiven: false } }).upload).toBe(false)
    expect(sharingDecision({ ...inputs, signals: { onBattery: true, metered: false } }).reason).toBe('on battery')
    expect(sharingDecision({ ...inputs, sharing: { ...on, uploadOnBattery: true }, signals: { onBattery: true, metered: false } }).upload).toBe(true)
    expect(sharingDecision({ ...inputs, signals: { onBattery: false, metered: true } }).reason).toBe('on a metered connection')
    expect(sharingDecision({ ...inputs, uploadedThisMonth: 1000 }).reason).toMatch(/monthly/)
    expect(sharingDecision({ ...inputs, freeDiskBytes: 99 }).reason).toMatch(/disk/)
    expect(withinRetention(new Date('2026-01-01'), new Date('2026-01-30'), 30)).toBe(true)
    expect(withinRetention(new Date('2026-01-01'), new Date('2026-02-01'), 30)).toBe(false)
  })
})

describe('live rates', () => {
  it('a bucket in use takes a new rate at once, and a lifted cap does not leave a long wait behind', () => {
    const b = createBucket(1000, 0)
    expect(reserve(b, 64 * 1024 + 1000, 0)).toBe(1000)
    setRate(b, 1_000_000, 0)
    expect(reserve(b, 1000, 0)).toBeLessThan(100)
    setRate(b, 0, 10)
    expect(reserve(b, 1e9, 10)).toBe(0)
  })

  it('LiveLimits shares one CDN bucket and tells peer watchers only about peer changes', () => {
    const limits = new LiveLimits({ cdnDown: 0, peerDown: 0, peerUp: 0, uploadAllowed: false, uploadWan: false }, 0)
    const seen: number[] = []
    limits.watchPeers((r) => seen.push(r.peerDown))
    limits.set({ cdnDown: 5, peerDown: 0, peerUp: 0, uploadAllowed: false, uploadWan: false }, 1)
    expect(limits.cdn.rate).toBe(5)
    limits.set({ cdnDown: 5, peerDown: 7, peerUp: 0, uploadAllowed: false, uploadWan: false }, 2)
    expect(seen).toEqual([0, 7])
  })

  it('checks spread by jitter around the interval', () => {
    expect(nextCheckDelay(60, 0)).toBe(48 * 60_000)
    expect(nextCheckDelay(60, 0.5)).toBe(60 * 60_000)
    expect(nextCheckDelay(60, 0.999)).toBeLessThan(72 * 60_000)
    // The longest interval allowed, at its longest jitter, still fits Node's timer.
    expect(nextCheckDelay(MAX_CHECK_INTERVAL_MINUTES, 0.999999)).toBeLessThan(2 ** 31 - 1)
  })
})

describe('background mode controller (LEDBAT-style)', () => {
  const config: LedbatConfig = { targetMs: 50, minRate: 100_000, maxRate: 100_000_000, initialRate: 1_000_000, gain: 0.15, baseWindowMs: 120_000, currentSamples: 3 }

  it('grows while the delay stays at its base, backs off when a queue builds, and recovers', () => {
    const s = createLedbat(config)
    let t = 0
    const feed = (delayMs: number, n: number) => {
      for (let i = 0; i < n; i++) ledbatSample(s, { delayMs, throughput: 0 }, (t += 200), config)
      return s.rate
    }
    const grown = feed(5, 20)
    expect(grown).toBeGreaterThan(10 * config.initialRate)
    // Someone else's traffic adds 150 ms of queue: the rate falls to a fraction within a few samples.
    const backedOff = feed(155, 6)
    expect(backedOff).toBeLessThan(grown / 4)
    expect(s.queueingMs).toBe(150)
    expect(feed(155, 40)).toBe(config.minRate)
    // The queue drains: the base delay is still remembered, so the rate grows again.
    expect(feed(6, 30)).toBeGreaterThan(10 * config.minRate)
  })

  it('does not grow far past the throughput the path delivers', () => {
    const s = createLedbat(config)
    for (let i = 0; i < 50; i++) ledbatSample(s, { delayMs: 5, throughput: 2_000_000 }, i * 200, config)
    expect(s.rate).toBeLessThanOrEqual(8_000_000)
  })

  it('one delay spike does not cut the rate (the current delay is the minimum of recent samples)', () => {
    const s = createLedbat(config)
    for (let i = 0; i < 5; i++) ledbatSample(s, { delayMs: 5, throughput: 0 }, i * 200, config)
    const before = s.rate
    ledbatSample(s, { delayMs: 500, throughput: 0 }, 1200, config)
    expect(s.rate).toBeGreaterThanOrEqual(before)
  })
})
