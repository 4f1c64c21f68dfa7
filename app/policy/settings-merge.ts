// Settings as layers: built-in defaults, then the user's changes, then the managed
// policy, whose every field is locked. Pure: values in, values out.
import * as v from 'valibot'
import { settingsSchema, type Settings, type SettingsPatch } from '../../shared/api-contract.ts'

export const DEFAULT_SETTINGS: Settings = {
  caps: { down: { global: null, cdn: null, peers: null }, up: { global: null, peers: null } },
  schedule: { timeZone: 'UTC', rules: [], installWindow: null },
  updateMode: 'background',
  sharing: {
    consentGiven: false,
    mode: 'off',
    monthlyUploadCap: null,
    uploadOnBattery: false,
    uploadOnMetered: false,
    minFreeDisk: 10 * 1024 * 1024 * 1024,
    seedRetentionDays: 30,
  },
  checkIntervalMinutes: 60,
  reportOffload: false,
}

type Plain = Record<string, unknown>
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v)

function merge(base: unknown, patch: unknown): unknown {
  if (!isPlain(base) || !isPlain(patch)) return patch === undefined ? base : patch
  const out: Plain = { ...base }
  for (const [k, v] of Object.entries(patch)) if (v !== undefined) out[k] = merge(base[k], v)
  return out
}

/** `settings` with `patch` applied: objects merge field by field, arrays and values replace. */
export function applyPatch(settings: Settings, patch: SettingsPatch): Settings {
  return v.parse(settingsSchema, merge(settings, patch))
}

/** Dotted paths of every value a patch sets (arrays count as one value), e.g. "caps.down.global". */
export function patchPaths(patch: SettingsPatch): string[] {
  const out: string[] = []
  const walk = (v: unknown, prefix: string) => {
    if (isPlain(v)) for (const [k, child] of Object.entries(v)) walk(child, prefix ? `${prefix}.${k}` : k)
    else if (v !== undefined) out.push(prefix)
  }
  walk(patch, '')
  return out
}

/** The locked paths a patch would change: a lock on "schedule" covers "schedule.rules" and the reverse. */
export function lockedPathsTouched(patch: SettingsPatch, locked: readonly string[]): string[] {
  const covers = (a: string, b: string) => a === b || b.startsWith(a + '.') || a.startsWith(b + '.')
  return patchPaths(patch).filter((p) => locked.some((l) => covers(l, p)))
}
