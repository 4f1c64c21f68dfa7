// A binary min-heap of timed events: the simulator's arrivals, announces, pauses and departures.

export interface SimEvent {
  readonly at: number
  readonly kind: 'join' | 'announce' | 'pause' | 'resume' | 'leave'
  readonly client: number
  /** The client's session when the event was made: an event of an earlier session is stale. */
  readonly session: number
}

export class EventQueue {
  private readonly heap: SimEvent[] = []

  get size(): number {
    return this.heap.length
  }

  push(e: SimEvent): void {
    const h = this.heap
    h.push(e)
    for (let i = h.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1
      if (h[parent]!.at <= h[i]!.at) break
      ;[h[parent], h[i]] = [h[i]!, h[parent]!]
      i = parent
    }
  }

  /** The earliest event at or before `t`, removed; undefined when none is due. */
  popDue(t: number): SimEvent | undefined {
    const h = this.heap
    if (h.length === 0 || h[0]!.at > t) return undefined
    const top = h[0]!
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      for (let i = 0; ; ) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && h[l]!.at < h[m]!.at) m = l
        if (r < h.length && h[r]!.at < h[m]!.at) m = r
        if (m === i) break
        ;[h[m], h[i]] = [h[i]!, h[m]!]
        i = m
      }
    }
    return top
  }
}
