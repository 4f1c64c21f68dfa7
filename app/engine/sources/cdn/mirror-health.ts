// Pure: the health of a release's CDN mirrors and which one serves the next request. A mirror
// whose bytes fail verification (or that lies about ranges) is demoted at the first failure and
// dropped at DROP_AFTER; requests go round the healthiest ones, away from the mirror a retry avoids.

export interface Mirror {
  readonly base: URL
  /** Verification failures and protocol lies; demoted at 1, dropped at DROP_AFTER. */
  failures: number
  /** Set once the mirror answered a range request with the whole object. */
  ignoresRanges: boolean
  /** Bytes per second its recent requests delivered (moving average); undefined until one completed. */
  rate: number | undefined
  lastProblem: string | undefined
}

const DROP_AFTER = 3

/** Not dropped. */
export function usable(m: Mirror): boolean {
  return m.failures < DROP_AFTER
}

export function newMirror(base: URL): Mirror {
  return { base: new URL(base.href.endsWith('/') ? base.href : base.href + '/'), failures: 0, ignoresRanges: false, rate: undefined, lastProblem: undefined }
}

/** Bytes from `mirror` failed verification: demote now, drop after repeated failures. */
export function penalize(mirror: Mirror, problem: string): void {
  mirror.failures++
  mirror.lastProblem = problem
}

/** The mirror for the next attempt (`turn` rotates among equally healthy ones); undefined once every mirror is dropped. */
export function pickMirror(mirrors: readonly Mirror[], avoid: Mirror | undefined, turn: number): Mirror | undefined {
  const up = mirrors.filter(usable)
  if (up.length === 0) return undefined
  const preferred = up.filter((m) => m !== avoid)
  const pool = preferred.length > 0 ? preferred : up
  const best = Math.min(...pool.map((m) => m.failures + (m.ignoresRanges ? 1 : 0)))
  const healthiest = pool.filter((m) => m.failures + (m.ignoresRanges ? 1 : 0) === best)
  return healthiest[turn % healthiest.length]
}

/** A mirror's state for an error message. */
export function describeMirror(m: Mirror): string {
  return `${m.base.href} (${m.failures >= DROP_AFTER ? 'dropped' : m.failures > 0 ? 'demoted' : 'ok'}${m.lastProblem ? `: ${m.lastProblem}` : ''})`
}
