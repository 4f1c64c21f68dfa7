// Moves bytes from one stream to another, in order, through a gate that may hold them back (a
// rate limit), with backpressure both ways. webtorrent-adapter.ts joins each peer's socket and
// wire with one of these per direction.

/** The stream calls a pump makes on the end it reads; Node's streams and streamx's both have them. */
export interface PumpFrom {
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown
  pause(): unknown
  resume(): unknown
}

/** The calls a pump makes on the end it writes: a stream, or anything that takes bytes and says when it is full. */
export interface PumpTo {
  on(event: 'drain', listener: () => void): unknown
  write(chunk: Uint8Array): boolean
}

/**
 * How many of the next `wanted` bytes may pass now; 0 means none yet, and the gate then calls
 * the `later` it was made with once some may.
 */
export type Gate = (wanted: number) => number

/**
 * Moves every byte `from` reads to `to`, in order, as the gate lets it through; `counted` is told
 * each write's size. `from` waits while `to` is full or bytes wait at the gate. Once `stopped`,
 * what is held is dropped. `reusedChunks`: `from` reads every chunk into the same buffer, so
 * bytes held past the chunk's event are copied.
 */
export function pump(from: PumpFrom, to: PumpTo, makeGate: (later: () => void) => Gate, counted: (bytes: number) => void, stopped: () => boolean, reusedChunks = false): void {
  const held: Uint8Array[] = []
  let waiting = false
  let full = false
  let paused = false
  const gate = makeGate(() => {
    waiting = false
    flow()
  })
  const flow = () => {
    while (held.length > 0 && !waiting && !full) {
      if (stopped()) {
        held.length = 0
        return
      }
      let chunk = held[0]!
      const n = gate(chunk.length)
      if (n === 0) {
        waiting = true
        break
      }
      if (n < chunk.length) {
        held[0] = chunk.subarray(n)
        chunk = chunk.subarray(0, n)
      } else held.shift()
      counted(n)
      if (!to.write(chunk)) full = true
    }
    const wait = held.length > 0 || waiting || full
    if (wait !== paused) {
      paused = wait
      if (wait) from.pause()
      else from.resume()
    }
  }
  from.on('data', (chunk) => {
    held.push(chunk)
    flow()
    if (reusedChunks) for (let i = 0; i < held.length; i++) if (held[i]!.buffer === chunk.buffer) held[i] = new Uint8Array(held[i]!)
  })
  to.on('drain', () => {
    full = false
    flow()
  })
  // webtorrent's pipe resumed a socket something had paused before (a transport's own handshake).
  from.resume()
}
