// How long a download may take, which decides how many CDN bytes it may spend: a foreground
// job may finish at most 10 % later than the CDN alone would bring it; a background job is
// cost first, with a deadline hours away. The scheduler (engine/scheduler) turns the bound
// into CDN pieces. Pure.

/** A time after the job's start, or a slip over its CDN-only estimate (0.1 is 10 %). */
export type FinishBound = { readonly withinMs: number } | { readonly slip: number }

export const DEFAULT_FINISH_SLIP = 0.1
/** Background jobs wait for peers up to this long before the CDN fills in at full rate. */
export const BACKGROUND_DEADLINE_HOURS = 24

export function finishBoundFor(mode: 'foreground' | 'background', slip = DEFAULT_FINISH_SLIP): FinishBound {
  return mode === 'background' ? { withinMs: BACKGROUND_DEADLINE_HOURS * 3_600_000 } : { slip }
}
