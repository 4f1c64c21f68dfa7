// The settings table: the user's own settings under the key 'user', as JSON. The managed
// policy is layered on top by the agent, never stored here.
import * as v from 'valibot'
import { settingsSchema, type Settings } from '../../shared/api-contract.ts'
import { DEFAULT_SETTINGS } from '../policy/settings-merge.ts'
import type { StateDb } from './state-db.ts'

/** The defaults until the user changes something, and again if the stored value no longer parses. */
export function userSettings(db: StateDb): Settings {
  const row = db.prepare<[], { value: string }>("SELECT value FROM settings WHERE key = 'user'").get()
  if (!row) return DEFAULT_SETTINGS
  const parsed = v.safeParse(settingsSchema, JSON.parse(row.value))
  return parsed.success ? parsed.output : DEFAULT_SETTINGS
}

export function saveUserSettings(db: StateDb, s: Settings): void {
  db.prepare("INSERT INTO settings (key, value) VALUES ('user', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(JSON.stringify(s))
}
