// Blocks uploaded to peers as views of a cached piece rather than as copies. A fresh buffer per
// block made the seeder's heap churn: 1 seeder + 8 leechers cost it 358 full collections and
// 4.6 s of its main thread, plus 12 s of V8's helper threads (external memory drives V8's
// collections). A view is safe as long as its piece buffer is not reused (read into again, which
// detaches it) before the socket has written the view's bytes: the socket's write callback gives
// the bytes back, and a piece buffer is reused only once every lent byte is back. Bytes that
// never come back (a wire closed with blocks queued, an RC4 wire that encrypts into a copy) only
// keep their buffer from being reused; the collector frees it with the last view.

/** Bytes of each piece buffer lent to sockets and not yet written. */
const outstanding = new WeakMap<ArrayBuffer, number>()
/** Called once every lent byte of the buffer is back. */
const whenAllBack = new WeakMap<ArrayBuffer, () => void>()

/** Records `block` (a view of a piece buffer) as lent until a socket has written it. */
export function lend(block: Uint8Array): void {
  const buffer = block.buffer as ArrayBuffer
  outstanding.set(buffer, (outstanding.get(buffer) ?? 0) + block.byteLength)
}

/** Whether every byte lent from `buffer` has been written. */
export function allBack(buffer: ArrayBuffer): boolean {
  return (outstanding.get(buffer) ?? 0) === 0
}

/** Calls `then` once every byte lent from `buffer` is back (at once if none is out). */
export function onAllBack(buffer: ArrayBuffer, then: () => void): void {
  if (allBack(buffer)) return then()
  whenAllBack.set(buffer, then)
}

/**
 * For a chunk about to be written to a socket: a callback that gives its bytes back once the
 * write is done (or failed), or undefined when the chunk is not lent.
 */
export function giveBackOnWrite(chunk: Uint8Array): (() => void) | undefined {
  const buffer = chunk.buffer as ArrayBuffer
  if (!outstanding.has(buffer)) return undefined
  const bytes = chunk.byteLength
  return () => {
    const left = (outstanding.get(buffer) ?? 0) - bytes
    outstanding.set(buffer, left)
    if (left > 0) return
    const then = whenAllBack.get(buffer)
    whenAllBack.delete(buffer)
    then?.()
  }
}
