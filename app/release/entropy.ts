// A cheap guess at whether zstd can shrink a chunk. Game and OS payloads are mostly
// already compressed; skipping zstd on those saves ~30 µs per chunk (measured in
// `npm run bench`). A wrong guess only costs space: the store form is recorded per chunk.

const SAMPLES = 4096
/** Uniform random bytes measure about 7.95 bits over 4,096 samples; text measures about 4.5. */
export const INCOMPRESSIBLE_BITS = 7.8

/** Order-0 entropy in bits per byte, estimated from up to 4,096 evenly spread bytes. */
export function sampledEntropy(data: Uint8Array): number {
  const n = Math.min(SAMPLES, data.length)
  if (n === 0) return 0
  const counts = new Uint32Array(256)
  const step = Math.floor(data.length / n)
  for (let i = 0, p = 0; i < n; i++, p += step) counts[data[p]!]!++
  let bits = 0
  for (let b = 0; b < 256; b++) {
    const c = counts[b]!
    if (c > 0) bits -= (c / n) * Math.log2(c / n)
  }
  return bits
}

export function looksIncompressible(data: Uint8Array): boolean {
  return data.length >= 1024 && sampledEntropy(data) >= INCOMPRESSIBLE_BITS
}
