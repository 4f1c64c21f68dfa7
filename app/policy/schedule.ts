// Business-hours caps and the install window, read in the schedule's own time zone
// (Intl does the zone and DST arithmetic). Pure: the caller passes the instant.
import type { Settings } from '../../shared/api-contract.ts'

export interface LocalTime {
  /** 0 = Sunday. */
  readonly weekday: number
  readonly hour: number
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 }
const formats = new Map<string, Intl.DateTimeFormat>()

/** Weekday and hour of `now` on the wall clocks of `timeZone`; an unknown zone throws a RangeError. */
export function localTime(now: Date, timeZone: string): LocalTime {
  let f = formats.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: 'numeric', hourCycle: 'h23' })
    formats.set(timeZone, f)
  }
  const parts = f.formatToParts(now)
  return { weekday: WEEKDAYS[parts.find((p) => p.type === 'weekday')!.value]!, hour: Number(parts.find((p) => p.type === 'hour')!.value) }
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    localTime(new Date(0), timeZone)
    return true
  } catch {
    return false
  }
}

/** True when `hour` is in [from, to); a window with from >= to wraps past midnight. */
export function hourInWindow(hour: number, from: number, to: number): boolean {
  return from < to ? hour >= from && hour < to : hour >= from || hour < to
}

type Schedule = Settings['schedule']

/**
 * The first rule covering `now`, if any. Without rules, no clock is read: Intl's zone data (about
 * 8 MiB of the agent's memory once touched) stays unloaded on a machine that sets no schedule.
 */
export function activeRule(schedule: Schedule, now: Date): Schedule['rules'][number] | undefined {
  if (schedule.rules.length === 0) return undefined
  const t = localTime(now, schedule.timeZone)
  return schedule.rules.find((r) => r.days.includes(t.weekday) && hourInWindow(t.hour, r.fromHour, r.toHour))
}

/** Whether a background update may be switched in now. */
export function inInstallWindow(schedule: Schedule, now: Date): boolean {
  const w = schedule.installWindow
  return w === null || hourInWindow(localTime(now, schedule.timeZone).hour, w.fromHour, w.toHour)
}

/** Bytes per second, null for unlimited. */
export interface EffectiveCaps {
  readonly down: number | null
  readonly up: number | null
  readonly cdnDown: number | null
  readonly peerDown: number | null
  readonly peerUp: number | null
}

const lowest = (...caps: (number | null | undefined)[]): number | null => {
  const set = caps.filter((c): c is number => typeof c === 'number')
  return set.length > 0 ? Math.min(...set) : null
}

/**
 * The caps in force at `now`: the configured caps, tightened by the schedule rule covering now.
 * Each class is bounded by the global cap here; `splitDownCap` shares the global cap between
 * the CDN and peers while both run.
 */
export function effectiveCaps(settings: Settings, now: Date): EffectiveCaps {
  const rule = activeRule(settings.schedule, now)
  const down = lowest(settings.caps.down.global, rule?.down)
  const up = lowest(settings.caps.up.global, rule?.up)
  return { down, up, cdnDown: lowest(down, settings.caps.down.cdn), peerDown: lowest(down, settings.caps.down.peers), peerUp: lowest(up, settings.caps.up.peers) }
}
