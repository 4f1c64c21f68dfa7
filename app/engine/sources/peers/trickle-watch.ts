// A job's trickle watch: block bytes per wire over windows of `windowMs`, judged by the pure
// rule (peer-trickle.ts) when a window has passed. Holds the counts; decides nothing itself.
import { DEFAULT_TRICKLE } from '../cdn/trickle-rule.ts'
import { judgePeers } from './peer-trickle.ts'

export class TrickleWatch<K> {
  private readonly minRate: number
  private readonly windowMs: number
  private readonly bytes = new Map<K, number>()
  private slow = new Map<K, number>()
  private windowStart: number

  /** `minRate` 0: no wire is ever cut. */
  constructor(start: number, minRate: number, windowMs: number) {
    this.windowStart = start
    this.minRate = minRate
    this.windowMs = windowMs
  }

  received(key: K, bytes: number): void {
    this.bytes.set(key, (this.bytes.get(key) ?? 0) + bytes)
  }

  /** Once a window has passed: the wires to cut now, of those `connected` gives (whether each owes blocks). */
  judge(now: number, connected: () => readonly { readonly key: K; readonly owes: boolean }[]): K[] {
    if (this.minRate <= 0 || now - this.windowStart < this.windowMs) return []
    const wires = connected().map((w) => ({ ...w, bytes: this.bytes.get(w.key) ?? 0 }))
    const verdict = judgePeers(this.slow, wires, now - this.windowStart, this.minRate, DEFAULT_TRICKLE.windows)
    this.slow = verdict.slow
    this.bytes.clear()
    this.windowStart = now
    return verdict.cut
  }
}
