// A fixed-size ring of rate samples per job, kept out of React state: the chart reads it on its
// own clock, so an event costs an array write, not a re-render.
import type { SourceRates } from '../shared/api-contract.ts'

export const SOURCE_CLASSES = ['cdn', 'lan', 'wan'] as const
export type SourceClass = (typeof SOURCE_CLASSES)[number]

export interface SpeedSeries {
  /** Seconds since the epoch, oldest first. */
  readonly t: number[]
  readonly cdn: number[]
  readonly lan: number[]
  readonly wan: number[]
}

export class SpeedHistory {
  readonly capacity: number
  private readonly samples: { t: number; rates: SourceRates }[] = []
  private start = 0
  /** Bumped on every push, so a reader can tell whether anything changed. */
  version = 0

  constructor(capacity: number) {
    this.capacity = capacity
  }

  push(atMs: number, rates: SourceRates): void {
    const sample = { t: atMs / 1000, rates }
    if (this.samples.length < this.capacity) this.samples.push(sample)
    else {
      this.samples[this.start] = sample
      this.start = (this.start + 1) % this.capacity
    }
    this.version++
  }

  series(): SpeedSeries {
    const out: SpeedSeries = { t: [], cdn: [], lan: [], wan: [] }
    for (let i = 0; i < this.samples.length; i++) {
      const s = this.samples[(this.start + i) % this.samples.length]!
      out.t.push(s.t)
      for (const c of SOURCE_CLASSES) out[c].push(s.rates[c])
    }
    return out
  }

  /** Source classes that carried bytes in the kept window. */
  classesSeen(): SourceClass[] {
    return SOURCE_CLASSES.filter((c) => this.samples.some((s) => s.rates[c] > 0))
  }
}
