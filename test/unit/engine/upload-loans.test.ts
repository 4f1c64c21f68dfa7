import { describe, expect, it } from 'vitest'
import { allBack, giveBackOnWrite, lend, onAllBack } from '../../../app/engine/storage/upload-loans.ts'

describe('upload loans', () => {
  it('a buffer is back once every lent byte is written, however the socket split the views', () => {
    const piece = new Uint8Array(64)
    const a = piece.subarray(0, 16)
    const b = piece.subarray(16, 48)
    lend(a)
    lend(b)
    let back = 0
    onAllBack(piece.buffer, () => back++)
    expect(allBack(piece.buffer)).toBe(false)
    giveBackOnWrite(a)!()
    // A stage before the socket wrote `b` in two parts.
    giveBackOnWrite(b.subarray(0, 10))!()
    expect(back).toBe(0)
    giveBackOnWrite(b.subarray(10))!()
    expect(back).toBe(1)
    expect(allBack(piece.buffer)).toBe(true)
  })

  it('a chunk that was never lent has no callback, and a buffer with nothing out is back at once', () => {
    expect(giveBackOnWrite(new Uint8Array(8))).toBeUndefined()
    let back = false
    onAllBack(new ArrayBuffer(8), () => (back = true))
    expect(back).toBe(true)
  })
})
