import { createHash, type Hash } from 'node:crypto'

/** SHA-1 of each BitTorrent piece, fed with the raw pack bytes in order. */
export class PieceHasher {
  private readonly pieceLength: number
  private current: Hash = createHash('sha1')
  private filled = 0
  private readonly digests: Buffer[] = []

  constructor(pieceLength: number) {
    this.pieceLength = pieceLength
  }

  update(bytes: Uint8Array): void {
    let pos = 0
    while (pos < bytes.length) {
      const take = Math.min(this.pieceLength - this.filled, bytes.length - pos)
      this.current.update(bytes.subarray(pos, pos + take))
      this.filled += take
      pos += take
      if (this.filled === this.pieceLength) this.closePiece()
    }
  }

  /** Zero-pads the last piece to full length, so later sections never change earlier piece hashes. */
  finish(): Buffer {
    if (this.filled > 0) this.update(new Uint8Array(this.pieceLength - this.filled))
    return Buffer.concat(this.digests)
  }

  private closePiece(): void {
    this.digests.push(this.current.digest())
    this.current = createHash('sha1')
    this.filled = 0
  }
}
