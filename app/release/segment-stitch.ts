// Large files are chunked in parallel segments. Each segment starts a chunk at its
// own offset and runs a few chunks past its end; since FastCDC cuts depend only on
// the bytes from a chunk's start, two chains that share one cut share all later
// cuts. Stitching keeps segment k's chain until its first cut that segment k+1
// also has, so the result equals one sequential pass.

export interface SegmentChunks {
  /** File offset where the segment's first chunk starts. */
  readonly start: number
  readonly lengths: ArrayLike<number>
  /** 32 bytes per chunk. */
  readonly digests: Uint8Array
}

export type StitchResult =
  | { readonly ok: true; readonly lengths: number[]; readonly digests: Uint8Array }
  /** Segment `segment` never met the next segment's chain: run it again with a longer overlap. */
  | { readonly ok: false; readonly segment: number }

export function stitchSegments(segments: readonly SegmentChunks[], fileSize: number): StitchResult {
  const lengths: number[] = []
  const picks: [seg: number, from: number, to: number][] = []
  let from = 0
  for (let k = 0; k < segments.length; k++) {
    const seg = segments[k]!
    const next = segments[k + 1]
    let to = seg.lengths.length
    let resumeAt = -1
    if (next) {
      const nextStarts = new Map<number, number>()
      for (let i = 0, pos = next.start; i < next.lengths.length; pos += next.lengths[i]!, i++) nextStarts.set(pos, i)
      let pos = seg.start
      for (let i = 0; i < from; i++) pos += seg.lengths[i]!
      for (let i = from; i < seg.lengths.length; pos += seg.lengths[i]!, i++) {
        const j = pos >= next.start ? nextStarts.get(pos) : undefined
        if (j !== undefined) {
          to = i
          resumeAt = j
          break
        }
      }
      // A chain that reaches the end of the file without meeting the next one is the whole rest.
      if (resumeAt < 0 && pos !== fileSize) return { ok: false, segment: k }
    }
    for (let i = from; i < to; i++) lengths.push(seg.lengths[i]!)
    picks.push([k, from, to])
    if (resumeAt < 0) break
    from = resumeAt
  }
  const digests = new Uint8Array(lengths.length * 32)
  let at = 0
  for (const [k, a, b] of picks) {
    digests.set(segments[k]!.digests.subarray(a * 32, b * 32), at)
    at += (b - a) * 32
  }
  return { ok: true, lengths, digests }
}
