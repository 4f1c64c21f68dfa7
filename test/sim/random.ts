// Seeded randomness for the simulator: one generator per run, so a scenario's seed fixes
// every draw (arrivals, link rates, NAT pairs, tracker answers, piece choices).

export type Rng = () => number

/** mulberry32: small, fast, and good enough for sampling; not for anything secret. */
export function seeded(seed: number): Rng {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A stated distribution of a quantity (a rate in bytes per second, a duration in ms). */
export type Dist =
  | { readonly kind: 'const'; readonly value: number }
  /** Median and the spread of ln(x); clamped to [min, max]. */
  | { readonly kind: 'lognormal'; readonly median: number; readonly sigma: number; readonly min: number; readonly max: number }
  | { readonly kind: 'exponential'; readonly mean: number }
  /** Values with weights. */
  | { readonly kind: 'choice'; readonly values: readonly (readonly [number, number])[] }

export function draw(d: Dist, rng: Rng): number {
  switch (d.kind) {
    case 'const':
      return d.value
    case 'exponential':
      return -d.mean * Math.log(1 - rng())
    case 'lognormal': {
      const normal = Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng())
      return Math.min(d.max, Math.max(d.min, d.median * Math.exp(d.sigma * normal)))
    }
    case 'choice': {
      const total = d.values.reduce((s, [, w]) => s + w, 0)
      let x = rng() * total
      for (const [v, w] of d.values) if ((x -= w) < 0) return v
      return d.values[d.values.length - 1]![0]
    }
  }
}

/** Whether two clients can connect: the same answer both ways, fixed by the seed (NAT traversal fails for some pairs). */
export function pairBlocked(seed: number, a: number, b: number, blockedShare: number): boolean {
  const [lo, hi] = a < b ? [a, b] : [b, a]
  let h = Math.imul(lo ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi + seed, 0xc2b2ae35)
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b)
  return ((h ^ (h >>> 13)) >>> 0) / 4294967296 < blockedShare
}
