// An abstract-chunk-store that claims every piece and serves each as one repeated byte: for
// test peers whose bytes are wrong on purpose (lying-peer.ts) or not checked by the receiver.
type Callback<T = void> = (err: Error | null, value?: T) => void

/** A store class, as webtorrent's `store` option takes it, whose every byte is `fill`. */
export function constantStore(fill: number) {
  return class ConstantStore {
    readonly chunkLength: number
    readonly length: number
    constructor(chunkLength: number, opts: { length: number }) {
      this.chunkLength = chunkLength
      this.length = opts.length
    }
    put(_index: number, _buf: Uint8Array, cb?: Callback): void {
      cb?.(null)
    }
    get(index: number, opts: { offset?: number; length?: number } | Callback<Uint8Array> | null, callback?: Callback<Uint8Array>): void {
      const cb = typeof opts === 'function' ? opts : callback!
      const range = typeof opts === 'function' ? null : opts
      const size = Math.min(this.chunkLength, this.length - index * this.chunkLength)
      const offset = range?.offset ?? 0
      cb(null, Buffer.alloc(size, fill).subarray(offset, offset + (range?.length ?? size - offset)))
    }
    close(cb?: Callback): void {
      cb?.(null)
    }
    destroy(cb?: Callback): void {
      cb?.(null)
    }
  }
}
