// Pure: which bytes received from peers became part of the new version, by class, and
// which were wasted. A piece's bytes count only once it verifies, and only for the pending
// chunk slices it carries; a chunk counts once all of its pieces are in (a chunk may
// straddle pieces). Everything else received (padding, slices of chunks already placed,
// endgame duplicates, pieces that failed) is waste.
import type { PackGeometry } from '../../storage/pack-geometry.ts'
import type { PeerClass } from '../../stats/peer-class.ts'

export interface ChunkFromPeers {
  readonly chunk: number
  /** Bytes of the chunk by the class of the peers that sent them; they add up to the chunk size. */
  readonly lan: number
  readonly wan: number
}

export interface PeerAccounting {
  /** A block of `bytes` for `piece` arrived from a peer of class `cls`. */
  block(piece: number, cls: PeerClass, bytes: number): void
  /** The piece verified; returns the pending chunks it completed, each split by class. */
  verified(piece: number): ChunkFromPeers[]
  /** The piece failed verification: its blocks are waste. */
  failed(piece: number): void
  /** The chunk was placed from another source: any peer slices of it are waste. */
  placedElsewhere(chunk: number): void
  /** Bytes received so far and not used. */
  wasted(): number
  /** Ends the job: whatever never completed is waste. */
  finish(): void
}

/** `pending`: chunks the job still needs; `isDone`: whether a chunk is placed already. */
export function createPeerAccounting(geometry: PackGeometry, chunkSizes: readonly number[], pending: ReadonlySet<number>, isDone: (chunk: number) => boolean): PeerAccounting {
  const blocks = new Map<number, { lan: number; wan: number }>()
  /** Class split of the verified slices of chunks not yet complete. */
  const partial = new Map<number, { lan: number; wan: number; bytes: number }>()
  const closed = new Set<number>()
  let waste = 0

  return {
    block(piece, cls, bytes) {
      const b = blocks.get(piece) ?? { lan: 0, wan: 0 }
      b[cls] += bytes
      blocks.set(piece, b)
    },
    verified(piece) {
      const b = blocks.get(piece) ?? { lan: 0, wan: 0 }
      blocks.delete(piece)
      const received = b.lan + b.wan
      const lanShare = received === 0 ? 0 : b.lan / received
      let used = 0
      const completed: ChunkFromPeers[] = []
      for (const s of geometry.segments(piece)) {
        if (s.kind !== 'chunk' || !pending.has(s.chunk) || closed.has(s.chunk) || isDone(s.chunk)) continue
        const p = partial.get(s.chunk) ?? { lan: 0, wan: 0, bytes: 0 }
        const lan = Math.round(s.length * lanShare)
        p.lan += lan
        p.wan += s.length - lan
        p.bytes += s.length
        used += s.length
        if (p.bytes === chunkSizes[s.chunk]) {
          partial.delete(s.chunk)
          closed.add(s.chunk)
          completed.push({ chunk: s.chunk, lan: p.lan, wan: p.wan })
        } else partial.set(s.chunk, p)
      }
      // A piece received in full but carrying fewer pending bytes (or sent twice) wastes the rest.
      waste += Math.max(0, received - used)
      return completed
    },
    failed(piece) {
      const b = blocks.get(piece)
      blocks.delete(piece)
      if (b) waste += b.lan + b.wan
    },
    placedElsewhere(chunk) {
      closed.add(chunk)
      const p = partial.get(chunk)
      partial.delete(chunk)
      if (p) waste += p.bytes
    },
    wasted: () => waste,
    finish() {
      for (const b of blocks.values()) waste += b.lan + b.wan
      for (const p of partial.values()) waste += p.bytes
      blocks.clear()
      partial.clear()
    },
  }
}
