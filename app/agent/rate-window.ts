// Receive rates per source class over the last couple of seconds, from cumulative byte counts.
import type { SourceRates } from '../../shared/api-contract.ts'

interface Point {
  readonly at: number
  readonly cdn: number
  readonly lan: number
  readonly wan: number
}

const WINDOW_MS = 2000

export class RateWindow {
  private readonly points: Point[] = []

  add(at: number, bytes: { cdn: number; lan: number; wan: number }): void {
    this.points.push({ at, cdn: bytes.cdn, lan: bytes.lan, wan: bytes.wan })
    while (this.points.length > 2 && at - this.points[1]!.at > WINDOW_MS) this.points.shift()
  }

  /** Bytes per second over the window ending `now`; falls to 0 when nothing arrives. */
  rates(now: number): SourceRates {
    const first = this.points[0]
    const last = this.points.at(-1)
    if (!first || !last || now - last.at > WINDOW_MS) return { cdn: 0, lan: 0, wan: 0 }
    const seconds = Math.max(0.25, (now - first.at) / 1000)
    return { cdn: (last.cdn - first.cdn) / seconds, lan: (last.lan - first.lan) / seconds, wan: (last.wan - first.wan) / seconds }
  }
}
