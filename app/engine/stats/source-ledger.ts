// Pure accounting of one job's bytes by source class. Every byte written to the new
// version is attributed to exactly one class; bytes received but not used (endgame
// duplicates, pieces that failed verification, merged-range overfetch) are `wasted`.
import type { PeerClass } from './peer-class.ts'
import { emptySourceBytes, type SourceBytes } from './source-bytes.ts'

export type UsefulClass = 'cdn' | PeerClass | 'local'

export interface SourceLedger {
  /** Bytes that became part of the new version, from `from`. */
  useful(from: UsefulClass, bytes: number): void
  /** Bytes received and thrown away. */
  wasted(bytes: number): void
  snapshot(): SourceBytes & { wasted: number }
  /** The invariant: the useful classes add up to what was written. */
  balances(bytesWritten: number): boolean
}

export function createSourceLedger(): SourceLedger {
  const bytes = emptySourceBytes()
  let wasted = 0
  return {
    useful: (from, n) => {
      if (!(n >= 0)) throw new RangeError(`byte count ${n} is negative`)
      bytes[from] += n
    },
    wasted: (n) => {
      if (!(n >= 0)) throw new RangeError(`byte count ${n} is negative`)
      wasted += n
    },
    snapshot: () => ({ ...bytes, wasted }),
    balances: (written) => bytes.cdn + bytes.lan + bytes.wan + bytes.local === written,
  }
}
