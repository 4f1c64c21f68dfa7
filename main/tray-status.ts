// What the tray says, from the engine's state: one short line, and whether anything is paused.
import type { ApiEvent, Job, Status } from '../shared/api-contract.ts'

const ACTIVE = new Set<Job['state']>(['queued', 'running', 'waiting', 'paused'])

export interface TrayStatus {
  readonly line: string
  readonly paused: boolean
}

export function trayStatus(status: Pick<Status, 'paused' | 'jobs'> | null): TrayStatus {
  if (!status) return { line: 'Starting…', paused: false }
  const active = status.jobs.filter((j) => ACTIVE.has(j.state))
  if (status.paused) return { line: active.length ? `Paused (${active.length} waiting)` : 'Paused', paused: true }
  if (active.length === 0) return { line: 'Up to date', paused: false }
  const total = active.reduce((n, j) => n + j.bytesTotal, 0)
  const done = active.reduce((n, j) => n + j.bytesDone, 0)
  const percent = total ? Math.floor((done / total) * 100) : 0
  return { line: `${active.length === 1 ? 'Downloading' : `Downloading ${active.length} updates`}: ${percent} %`, paused: false }
}

/** Keeps just enough of the event stream (paused, jobs) to draw the tray. */
export class TrayModel {
  private paused = false
  private readonly jobs = new Map<string, Job>()
  private seen = false

  apply(event: ApiEvent): TrayStatus {
    if (event.type === 'snapshot') {
      this.seen = true
      this.paused = event.status.paused
      this.jobs.clear()
      for (const job of event.status.jobs) this.jobs.set(job.id, job)
    } else if (event.type === 'jobs') {
      for (const job of event.jobs) this.jobs.set(job.id, job)
      for (const id of event.removed) this.jobs.delete(id)
    } else if (event.type === 'settings') this.paused = event.paused
    return this.status()
  }

  status(): TrayStatus {
    return trayStatus(this.seen ? { paused: this.paused, jobs: [...this.jobs.values()] } : null)
  }
}
