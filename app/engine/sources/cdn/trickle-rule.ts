// Pure: when a range request that still receives bytes, only very few, is better cut and fetched
// elsewhere. A stall (no byte at all) is the idle timeout's job; a mirror sending 1 byte a second
// never goes silent, and held a download forever.

export interface TrickleRule {
  /** Bytes per second below which a request is cut, whatever else runs; 0: no floor. */
  readonly floor: number
  /** A request this many times slower than the fastest other mirror's requests is cut. */
  readonly slowerThan: number
  /**
   * Slow windows in a row before the cut: a window's count can fall short once when the event
   * loop was held up and reads waited behind the timer, never twice running.
   */
  readonly windows: number
}

export const DEFAULT_MIN_RATE = 1024
export const DEFAULT_TRICKLE: TrickleRule = { floor: DEFAULT_MIN_RATE, slowerThan: 16, windows: 2 }

/** What one window of a request's body says: slow windows so far in a row, and the reason to cut it now, if any. */
export interface WindowVerdict {
  readonly slow: number
  readonly cut: string | undefined
}

/**
 * Judges a window of `windowMs` in which a request's body brought `bytes`, after `slow` slow
 * windows in a row. `others`: the best rate (bytes per second) another usable mirror's requests
 * showed, if any. A silent window is left to the stall timeout: it neither counts nor clears.
 */
export function judgeWindow(slow: number, bytes: number, windowMs: number, others: number | undefined, rule: TrickleRule): WindowVerdict {
  if (bytes === 0) return { slow, cut: undefined }
  const rate = (bytes * 1000) / windowMs
  const shown = `${Math.round(rate)} B/s over ${windowMs} ms`
  const why =
    rate < rule.floor ? `trickled at ${shown}, below the floor of ${rule.floor} B/s` : others !== undefined && rate * rule.slowerThan < others ? `trickled at ${shown}, under 1/${rule.slowerThan} of another mirror's ${Math.round(others)} B/s` : undefined
  if (why === undefined) return { slow: 0, cut: undefined }
  return { slow: slow + 1, cut: slow + 1 >= rule.windows ? why : undefined }
}

/** A mirror's request rate after one more completed request: a moving average, so one slow answer does not define it. */
export function nextMirrorRate(previous: number | undefined, bytes: number, ms: number): number {
  const sample = (bytes * 1000) / Math.max(1, ms)
  return previous === undefined ? sample : 0.7 * previous + 0.3 * sample
}
