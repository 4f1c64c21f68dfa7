// How many source peers hold each piece, kept up to date as peers come, go, announce pieces
// and stop counting as sources. The CDN scheduler reads it on every decision; recounting every
// wire's bitfield there cost pieces × wires per CDN piece (12,800 × 50 for a 50 GiB release).

export class PieceAvailability<K> {
  readonly counts: Uint16Array
  /** Per counted peer, the pieces it was counted for. */
  private readonly counted = new Map<K, Uint8Array>()

  constructor(pieceCount: number) {
    this.counts = new Uint16Array(pieceCount)
  }

  isCounted(peer: K): boolean {
    return this.counted.has(peer)
  }

  /** Counts a peer's pieces (again, if it was counted: a new bitfield replaces what it had). */
  count(peer: K, has: (piece: number) => boolean): void {
    const mine = this.counted.get(peer) ?? new Uint8Array(this.counts.length)
    this.counted.set(peer, mine)
    for (let p = 0; p < mine.length; p++) {
      const now = has(p) ? 1 : 0
      if (now !== mine[p]) {
        this.counts[p]! += now - mine[p]!
        mine[p] = now
      }
    }
  }

  /** A counted peer announced one more piece. */
  have(peer: K, piece: number): void {
    const mine = this.counted.get(peer)
    if (!mine || mine[piece] === 1 || piece < 0 || piece >= mine.length) return
    mine[piece] = 1
    this.counts[piece]!++
  }

  /** The peer no longer counts (gone, or no longer a source). */
  forget(peer: K): void {
    const mine = this.counted.get(peer)
    if (!mine) return
    for (let p = 0; p < mine.length; p++) this.counts[p]! -= mine[p]!
    this.counted.delete(peer)
  }
}
