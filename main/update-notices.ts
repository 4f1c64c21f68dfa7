// Which desktop notifications a change deserves: an update installed, or one waiting for a restart
// (the agent says so with a notice), never one per progress event.
import type { ApiEvent, Job, Product } from '../shared/api-contract.ts'

export interface DesktopNotice {
  readonly title: string
  readonly body: string
}

export class UpdateNotices {
  private readonly finished = new Set<string>()
  private products = new Map<string, Product>()

  /** Returns the notifications for this event and remembers what it has announced. */
  next(event: ApiEvent): DesktopNotice[] {
    switch (event.type) {
      case 'snapshot':
        this.products = new Map(event.status.products.map((p) => [p.id, p]))
        // Jobs that were already done before we looked are old news.
        for (const job of event.status.jobs) if (job.state === 'done') this.finished.add(job.id)
        return []
      case 'products':
        for (const p of event.products) this.products.set(p.id, p)
        return []
      case 'jobs':
        return event.jobs.filter((j) => this.isNewlyInstalled(j)).map((j) => this.installed(j))
      case 'notice':
        return event.level === 'warning' || /restart/i.test(event.message) ? [{ title: this.name(event.productId) ?? 'Shoal', body: event.message }] : []
      case 'settings':
        return []
    }
  }

  private isNewlyInstalled(job: Job): boolean {
    if (job.state !== 'done' || (job.kind !== 'install' && job.kind !== 'update') || this.finished.has(job.id)) return false
    this.finished.add(job.id)
    return true
  }

  private installed(job: Job): DesktopNotice {
    const name = this.name(job.productId) ?? job.productId
    const body = job.kind === 'update' ? `${name} was updated to ${job.version ?? 'the latest version'}.` : `${name}${job.version ? ` ${job.version}` : ''} is installed.`
    return { title: job.kind === 'update' ? 'Update installed' : 'Install finished', body }
  }

  private name(productId: string | null): string | undefined {
    return productId === null ? undefined : (this.products.get(productId)?.name ?? productId)
  }
}
