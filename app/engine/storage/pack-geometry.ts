// Pure: where every byte of the raw pack comes from. A piece is a run of chunk slices
// plus the zero padding that ends each release section, so a seeder rebuilds any piece
// from installed files and a leecher knows which pieces its local chunks already complete.
import type { Manifest } from '../../../shared/release-schema.ts'
import type { PlaceItem } from '../install/place-items.ts'

export type PieceSegment =
  /** `length` bytes of chunk `chunk` starting at `offset` within it. */
  | { readonly kind: 'chunk'; readonly chunk: number; readonly offset: number; readonly length: number }
  /** `length` zero bytes (section padding). */
  | { readonly kind: 'zeros'; readonly length: number }

export interface PackGeometry {
  readonly pieceLength: number
  readonly pieceCount: number
  /** Raw pack offset of each chunk. */
  readonly chunkOffsets: Float64Array
  /** The segments that make up piece `index`, in order; their lengths add up to the piece length. */
  segments(index: number): PieceSegment[]
  /** The chunks piece `index` carries bytes of: indices [first, end), with no segment built. */
  chunkSpan(index: number): { readonly first: number; readonly end: number }
  /** Pieces whose bytes are all available: every chunk they touch passes `have` (padding always does). */
  completePieces(have: (chunk: number) => boolean): number[]
}

export function packGeometry(m: Manifest): PackGeometry {
  const { pieceLength, length } = m.pack
  const sizes = m.chunks.size
  const chunkOffsets = new Float64Array(sizes.length)
  for (const s of m.pack.sections) {
    let at = s.offset
    for (let i = s.firstChunk; i < s.firstChunk + s.chunkCount; i++) {
      chunkOffsets[i] = at
      at += sizes[i]!
    }
  }
  const pieceCount = Math.ceil(length / pieceLength)
  // Chunks are laid out in index order, so the first chunk of a piece is found by binary search.
  const firstChunkAtOrAfter = (offset: number): number => {
    let lo = 0
    let hi = sizes.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (chunkOffsets[mid]! + sizes[mid]! <= offset) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  /** The chunks piece `index` carries bytes of, as an index range: the one walk segments and chunkSpan share. */
  const chunkSpan = (index: number) => {
    if (!Number.isInteger(index) || index < 0 || index >= pieceCount) throw new RangeError(`piece ${index} is outside 0..${pieceCount - 1}`)
    const end = Math.min((index + 1) * pieceLength, length)
    const first = firstChunkAtOrAfter(index * pieceLength)
    let last = first
    while (last < sizes.length && chunkOffsets[last]! < end) last++
    return { first, end: last }
  }
  const segments = (index: number): PieceSegment[] => {
    const span = chunkSpan(index)
    const start = index * pieceLength
    const end = Math.min(start + pieceLength, length)
    const out: PieceSegment[] = []
    let at = start
    for (let c = span.first; c < span.end; c++) {
      const cStart = chunkOffsets[c]!
      if (cStart > at) {
        out.push({ kind: 'zeros', length: cStart - at })
        at = cStart
      }
      const take = Math.min(cStart + sizes[c]!, end) - at
      out.push({ kind: 'chunk', chunk: c, offset: at - cStart, length: take })
      at += take
    }
    if (at < end) out.push({ kind: 'zeros', length: end - at })
    return out
  }
  return {
    pieceLength,
    pieceCount,
    chunkOffsets,
    segments,
    chunkSpan,
    completePieces: (have) => {
      const out: number[] = []
      for (let p = 0; p < pieceCount; p++) {
        const { first, end } = chunkSpan(p)
        let all = true
        for (let c = first; c < end && all; c++) all = have(c)
        if (all) out.push(p)
      }
      return out
    },
  }
}

/**
 * The slices of piece `index` that carry chunks `wanted` still takes, as placement items (`at`:
 * offset in the piece; `shift`: offset in the chunk); `whole`: every chunk the piece carries is
 * wanted, so writing the slices writes all of the piece's chunk bytes. Built as items directly:
 * a piece's few hundred objects live until it is placed, past V8's young generation.
 */
export function wantedSlices(geometry: PackGeometry, index: number, wanted: (chunk: number) => boolean): { readonly slices: PlaceItem[]; readonly whole: boolean } {
  const slices: PlaceItem[] = []
  let whole = true
  let at = 0
  for (const seg of geometry.segments(index)) {
    if (seg.kind === 'chunk') {
      if (wanted(seg.chunk)) slices.push({ chunk: seg.chunk, at, stored: seg.length, size: seg.length, shift: seg.offset })
      else whole = false
    }
    at += seg.length
  }
  return { slices, whole }
}

/**
 * Piece `index`'s SHA-1 from the torrent's piece table, as a buffer of its own: a task posted to
 * a worker carries the whole buffer behind a view (the table itself, or the 64 KiB one Node
 * decoded it into), so each piece cloned 256 KB to the worker at 12,800 pieces.
 */
export function pieceSha1(table: Uint8Array, index: number): Uint8Array {
  return Uint8Array.from(table.subarray(index * 20, index * 20 + 20))
}
