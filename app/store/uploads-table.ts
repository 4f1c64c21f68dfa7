// The uploads table: bytes this machine's seeds uploaded, per calendar month ("2026-11"), for
// the monthly upload cap and the history view.
import type { StateDb } from './state-db.ts'

export function addUploaded(db: StateDb, month: string, bytes: number): void {
  if (bytes <= 0) return
  db.prepare('INSERT INTO uploads (month, bytes) VALUES (?, ?) ON CONFLICT(month) DO UPDATE SET bytes = bytes + excluded.bytes').run(month, bytes)
}

export function uploadedIn(db: StateDb, month: string): number {
  return db.prepare<[string], { bytes: number }>('SELECT bytes FROM uploads WHERE month = ?').get(month)?.bytes ?? 0
}

export function uploadsByMonth(db: StateDb): { month: string; bytes: number }[] {
  return db.prepare<[], { month: string; bytes: number }>('SELECT month, bytes FROM uploads').all()
}
