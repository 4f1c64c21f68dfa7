import { describe, expect, it } from 'vitest'
import { runRangeLoops, type FetchJob, type FetchQueue } from '../../../app/engine/sources/cdn/range-loops.ts'
import { RangeBuffers } from '../../../app/engine/sources/cdn/range-buffers.ts'

const job: FetchJob = { range: { path: 'pack.chunks', start: 0, end: 16, chunks: new Uint32Array([0]) }, avoid: undefined }

describe('range loops', () => {
  it('end with a loop failure while the other loops wait for work that never comes', async () => {
    // The fetch session's queue: one piece for the CDN, then nothing until peers are done.
    let handed = false
    const queue: FetchQueue = {
      next: () => {
        if (!handed) {
          handed = true
          return job
        }
        return new Promise<FetchJob | undefined>(() => {})
      },
      retry: () => {},
      more: () => false,
    }
    const failing = runRangeLoops(queue, 4, new RangeBuffers(4, 16), {
      fetch: () => Promise.reject(new Error('no mirror delivered the range')),
      place: () => Promise.resolve(undefined),
      placePrefix: () => Promise.resolve(),
    })
    await expect(failing).rejects.toThrow('no mirror delivered the range')
  })
})
