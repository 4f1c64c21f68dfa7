import { describe, expect, it } from 'vitest'
import type { Settings } from '../../../shared/api-contract.ts'
import { activeRule, effectiveCaps, inInstallWindow, isValidTimeZone, localTime } from '../../../app/policy/schedule.ts'
import { DEFAULT_SETTINGS } from '../../../app/policy/settings-merge.ts'

const MB = 1_000_000
const at = (iso: string) => new Date(iso)

function withSchedule(schedule: Partial<Settings['schedule']>, caps?: Partial<Settings['caps']['down']>): Settings {
  return { ...DEFAULT_SETTINGS, caps: { ...DEFAULT_SETTINGS.caps, down: { ...DEFAULT_SETTINGS.caps.down, ...caps } }, schedule: { ...DEFAULT_SETTINGS.schedule, ...schedule } }
}

// Business hours in New York: weekdays 9-17 local, 2 MB/s down, no upload cap change.
const business = withSchedule({ timeZone: 'America/New_York', rules: [{ days: [1, 2, 3, 4, 5], fromHour: 9, toHour: 17, down: 2 * MB, up: null }] }, { global: 50 * MB })

describe('business-hours schedule', () => {
  it('reads weekday and hour in the schedule zone, not UTC', () => {
    expect(localTime(at('2026-03-02T13:30:00Z'), 'America/New_York')).toEqual({ weekday: 1, hour: 8 })
    expect(localTime(at('2026-03-02T13:30:00Z'), 'Asia/Tokyo')).toEqual({ weekday: 1, hour: 22 })
    expect(isValidTimeZone('Mars/Olympus')).toBe(false)
  })

  it('follows the spring-forward DST change: 13:30 UTC is 08:30 before it and 09:30 after it', () => {
    // Monday before the change (EST, UTC-5) and Monday after it (EDT, UTC-4); the clocks moved on Sunday 2026-03-08.
    expect(effectiveCaps(business, at('2026-03-02T13:30:00Z')).down).toBe(50 * MB)
    expect(effectiveCaps(business, at('2026-03-09T13:30:00Z')).down).toBe(2 * MB)
    // 17:00 local ends the window on both sides of the change.
    expect(activeRule(business.schedule, at('2026-03-06T21:59:00Z'))).toBeDefined()
    expect(activeRule(business.schedule, at('2026-03-09T20:59:00Z'))).toBeDefined()
    expect(activeRule(business.schedule, at('2026-03-09T21:00:00Z'))).toBeUndefined()
  })

  it('the repeated hour of the autumn change maps to the same local hour twice', () => {
    const night = withSchedule({ timeZone: 'America/New_York', rules: [{ days: [0], fromHour: 1, toHour: 2, down: 1 * MB, up: null }] })
    expect(effectiveCaps(night, at('2026-11-01T05:30:00Z')).down).toBe(1 * MB) // 01:30 EDT
    expect(effectiveCaps(night, at('2026-11-01T06:30:00Z')).down).toBe(1 * MB) // 01:30 EST
    expect(effectiveCaps(night, at('2026-11-01T07:30:00Z')).down).toBe(null) // 02:30 EST
  })

  it('the schedule only tightens: the lower of cap and rule wins, per class too', () => {
    const s = withSchedule({ timeZone: 'UTC', rules: [{ days: [0, 1, 2, 3, 4, 5, 6], fromHour: 0, toHour: 24, down: 20 * MB, up: 1 * MB }] }, { global: 10 * MB, cdn: 4 * MB })
    expect(effectiveCaps(s, at('2026-01-01T12:00:00Z'))).toEqual({ down: 10 * MB, up: 1 * MB, cdnDown: 4 * MB, peerDown: 10 * MB, peerUp: 1 * MB })
  })

  it('an install window may wrap past midnight', () => {
    const s = withSchedule({ timeZone: 'Europe/Berlin', installWindow: { fromHour: 22, toHour: 5 } })
    expect(inInstallWindow(s.schedule, at('2026-06-01T21:30:00Z'))).toBe(true) // 23:30 CEST
    expect(inInstallWindow(s.schedule, at('2026-06-01T02:30:00Z'))).toBe(true) // 04:30
    expect(inInstallWindow(s.schedule, at('2026-06-01T10:00:00Z'))).toBe(false)
    expect(inInstallWindow(DEFAULT_SETTINGS.schedule, at('2026-06-01T10:00:00Z'))).toBe(true)
  })
})
