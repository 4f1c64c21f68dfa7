// A fixed number of reusable buffers for CDN ranges. The fetch loops take one per range and the
// placement worker hands it back, so memory stays at `count` x range size however the loops and
// the workers interleave: a pool that grew on demand kept 8 x 4 MiB alive for 4 connections,
// because the first ranges all arrive together and each needs a second buffer while placed.

export class RangeBuffers {
  private readonly count: number
  private readonly size: number
  private readonly spare: ArrayBuffer[] = []
  private readonly waiting: (() => void)[] = []
  /** Buffers that exist: spare, or out with a fetch or a placement. */
  private live = 0

  /** `size` is the usual range; a larger one gets a buffer of its own size. */
  constructor(count: number, size: number) {
    this.count = Math.max(1, count)
    this.size = size
  }

  /** A buffer of at least `bytes`, once one is spare or may be made. */
  async take(bytes: number): Promise<ArrayBuffer> {
    for (;;) {
      const spare = this.spare.pop()
      if (spare && spare.byteLength >= bytes) return spare
      if (spare) this.live--
      if (this.live < this.count) {
        this.live++
        return new ArrayBuffer(Math.max(this.size, bytes))
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve))
    }
  }

  give(buffer: ArrayBuffer): void {
    this.spare.push(buffer)
    this.waiting.shift()?.()
  }

  /** A buffer that will not come back (its fetch or placement failed): another may be made. */
  lost(): void {
    this.live--
    this.waiting.shift()?.()
  }
}
