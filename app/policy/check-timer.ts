// When to look at a channel next: the interval, spread by jitter so that a fleet of
// agents started together does not hit the CDN together.

/** ms until the next check: interval x (1 ± jitter), with `random` in [0, 1). */
export function nextCheckDelay(intervalMinutes: number, random: number, jitter = 0.2): number {
  return Math.round(intervalMinutes * 60_000 * (1 - jitter + 2 * jitter * random))
}
