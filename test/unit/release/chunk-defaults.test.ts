import { describe, expect, it } from 'vitest'
import { chooseChunking, DEFAULT_CHUNKING, LARGE_RELEASE_BYTES, LARGE_RELEASE_CHUNKING } from '../../../app/release/chunk-defaults.ts'

describe('chunk size choice', () => {
  it('defaults by release size for a first release', () => {
    expect(chooseChunking({}, undefined, 2 ** 30)).toEqual(DEFAULT_CHUNKING)
    expect(chooseChunking({}, undefined, LARGE_RELEASE_BYTES + 1)).toEqual(LARGE_RELEASE_CHUNKING)
  })
  it("keeps the product's previous sizes so chunks keep matching across versions", () => {
    expect(chooseChunking({}, LARGE_RELEASE_CHUNKING, 1024)).toEqual(LARGE_RELEASE_CHUNKING)
  })
  it('lets flags win, deriving min and max from a lone avg', () => {
    expect(chooseChunking({ avg: 8192 }, DEFAULT_CHUNKING, 1024)).toEqual({ min: 2048, avg: 8192, max: 32768 })
    expect(chooseChunking({ avg: 8192, max: 16384 }, undefined, 1024)).toEqual({ min: 2048, avg: 8192, max: 16384 })
  })
})
