// Change events for WebSocket clients: a snapshot on connect, then at most one message
// per 250 ms (4 per second), each slimmed to what changed since the last one.
import type { ApiEvent, Job, Product, Settings, Status } from '../../shared/api-contract.ts'

export const EVENT_INTERVAL_MS = 250

export interface EventSource {
  status(): Status
  job(id: string): Job | undefined
  products(): Product[]
  settingsEvent(): { settings: Settings; locked: string[]; paused: boolean }
}

export class EventHub {
  private readonly source: EventSource
  private readonly subscribers = new Set<(e: ApiEvent) => void>()
  private readonly changedJobs = new Set<string>()
  private readonly removedJobs = new Set<string>()
  private productsDirty = false
  private settingsDirty = false
  private readonly notices: ApiEvent[] = []
  private timer: NodeJS.Timeout | undefined
  private lastSent = 0

  constructor(source: EventSource) {
    this.source = source
  }

  /** Sends a snapshot now, then changes; returns the unsubscribe. */
  subscribe(send: (e: ApiEvent) => void): () => void {
    send({ type: 'snapshot', status: this.source.status() })
    this.subscribers.add(send)
    return () => this.subscribers.delete(send)
  }

  jobChanged(id: string): void {
    this.changedJobs.add(id)
    this.schedule()
  }

  jobRemoved(id: string): void {
    this.changedJobs.delete(id)
    this.removedJobs.add(id)
    this.schedule()
  }

  productsChanged(): void {
    this.productsDirty = true
    this.schedule()
  }

  settingsChanged(): void {
    this.settingsDirty = true
    this.schedule()
  }

  notice(level: 'info' | 'warning', message: string, productId: string | null): void {
    this.notices.push({ type: 'notice', level, message, productId })
    this.schedule()
  }

  close(): void {
    clearTimeout(this.timer)
    this.subscribers.clear()
  }

  private pending(): boolean {
    return this.changedJobs.size > 0 || this.removedJobs.size > 0 || this.productsDirty || this.settingsDirty || this.notices.length > 0
  }

  private schedule(): void {
    if (this.timer || this.subscribers.size === 0) {
      if (this.subscribers.size === 0) this.drop()
      return
    }
    const wait = Math.max(0, this.lastSent + EVENT_INTERVAL_MS - Date.now())
    this.timer = setTimeout(() => this.flush(), wait)
  }

  /** Without subscribers nothing is owed: the next subscriber starts from a snapshot. */
  private drop(): void {
    this.changedJobs.clear()
    this.removedJobs.clear()
    this.productsDirty = false
    this.settingsDirty = false
    this.notices.length = 0
  }

  /** One message per tick; settings first (they change rarely and matter most), then products, jobs, notices. */
  private flush(): void {
    this.timer = undefined
    const event = this.next()
    if (!event) return
    this.lastSent = Date.now()
    for (const send of this.subscribers) send(event)
    if (this.pending()) this.schedule()
  }

  private next(): ApiEvent | undefined {
    if (this.settingsDirty) {
      this.settingsDirty = false
      return { type: 'settings', ...this.source.settingsEvent() }
    }
    if (this.productsDirty) {
      this.productsDirty = false
      return { type: 'products', products: this.source.products() }
    }
    if (this.changedJobs.size > 0 || this.removedJobs.size > 0) {
      const jobs = [...this.changedJobs].map((id) => this.source.job(id)).filter((j): j is Job => j !== undefined)
      const removed = [...this.removedJobs]
      this.changedJobs.clear()
      this.removedJobs.clear()
      return { type: 'jobs', jobs, removed }
    }
    return this.notices.shift()
  }
}
