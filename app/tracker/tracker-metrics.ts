// Operator metrics of the tracker in Prometheus text format, and opt-in offload reports
// from clients. Pure: the counts and the clock come in, text comes out.
import { z } from 'zod'

export interface SwarmCounts {
  readonly infoHash: string
  readonly seeders: number
  readonly leechers: number
}

/** A client's opt-in report of one finished job: bytes by source. */
export const offloadReportSchema = z
  .object({
    infoHash: z.string().regex(/^[0-9a-f]{40}$/),
    cdn: z.number().int().nonnegative(),
    lan: z.number().int().nonnegative(),
    wan: z.number().int().nonnegative(),
  })
  .strict()
export type OffloadReport = z.infer<typeof offloadReportSchema>

const RATE_WINDOW_MS = 60_000

export class TrackerMetrics {
  private announces = 0
  private readonly recent: number[] = []
  private reports = 0
  private readonly offload = { cdn: 0, lan: 0, wan: 0 }

  announced(now: number): void {
    this.announces++
    this.recent.push(now)
    while (this.recent.length > 0 && now - this.recent[0]! > RATE_WINDOW_MS) this.recent.shift()
  }

  reported(r: OffloadReport): void {
    this.reports++
    this.offload.cdn += r.cdn
    this.offload.lan += r.lan
    this.offload.wan += r.wan
  }

  /** Announces per second over the last minute (or since the first one, when sooner). */
  announceRate(now: number): number {
    while (this.recent.length > 0 && now - this.recent[0]! > RATE_WINDOW_MS) this.recent.shift()
    return this.recent.length / (RATE_WINDOW_MS / 1000)
  }

  render(swarms: readonly SwarmCounts[], now: number): string {
    const lines: string[] = []
    const metric = (name: string, type: string, help: string, values: [string, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...values.map(([labels, v]) => `${name}${labels} ${v}`))
    }
    metric('shoal_tracker_swarms', 'gauge', 'Swarms (releases) the tracker knows.', [['', swarms.length]])
    metric('shoal_tracker_seeders', 'gauge', 'Peers with the whole release, per swarm.', swarms.map((s) => [`{infohash="${s.infoHash}"}`, s.seeders]))
    metric('shoal_tracker_leechers', 'gauge', 'Peers still downloading, per swarm.', swarms.map((s) => [`{infohash="${s.infoHash}"}`, s.leechers]))
    metric('shoal_tracker_announces_total', 'counter', 'Announces accepted since start.', [['', this.announces]])
    metric('shoal_tracker_announces_per_second', 'gauge', 'Announces per second over the last minute.', [['', this.announceRate(now)]])
    metric('shoal_offload_reports_total', 'counter', 'Jobs that reported their offload (opt-in).', [['', this.reports]])
    metric('shoal_offload_bytes_total', 'counter', 'Bytes reported by clients, by source.', (['cdn', 'lan', 'wan'] as const).map((k) => [`{source="${k}"}`, this.offload[k]]))
    return lines.join('\n') + '\n'
  }
}
