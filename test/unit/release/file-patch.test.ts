import { describe, expect, it } from 'vitest'
import { seededBytes } from '../../../app/demo/sample-build.ts'
import { applyPatch, dictWorthTrying, makeDeltaPatch, makeDictPatch, makePatch } from '../../../app/release/file-patch.ts'

/** One byte in every 4 KiB changed, and 1000 bytes inserted a third of the way in: a recompiled binary. */
function rebuilt(old: Buffer): Buffer {
  const out = Buffer.from(old)
  for (let i = 11; i < out.length; i += 4096) out[i]! ^= 0x33
  const cut = Math.floor(out.length / 3)
  return Buffer.concat([out.subarray(0, cut), seededBytes('inserted', 1000), out.subarray(cut)])
}

describe('file patches', () => {
  const old = seededBytes('old', 1024 * 1024)
  const next = rebuilt(old)

  it('as aligned deltas, rebuild a recompiled file in a fraction of the dictionary form, which makePatch then keeps', () => {
    // Addresses shifted everywhere: one byte in every 37 off by a little, which breaks zstd's matches at each.
    const next = Buffer.from(rebuilt(old))
    for (let i = 5; i < next.length; i += 37) next[i] = (next[i]! + 8) & 0xff
    const delta = makeDeltaPatch(old, next)
    expect(applyPatch(old, delta, next.length)).toEqual(next)
    const dict = makeDictPatch(old, next)
    expect(delta.length).toBeLessThan(dict.length)
    expect(makePatch(old, next)).toEqual(delta)
    // An edit that shifts text keeps the dictionary form.
    const text = Buffer.from('config line\n'.repeat(5000))
    const edited = Buffer.concat([text.subarray(0, 100), Buffer.from('inserted'), text.subarray(100)])
    const chosen = makePatch(text, edited)
    expect(chosen.subarray(0, 4).toString()).toBe('SHP1')
    expect(applyPatch(text, chosen, edited.length)).toEqual(edited)
    // A delta against another old file builds something else; a size that lies is refused.
    const other = applyPatch(seededBytes('other', old.length), delta, next.length)
    expect(other instanceof Error || !other.equals(next)).toBe(true)
    expect(applyPatch(old, delta, next.length - 1)).toBeInstanceOf(Error)
  })

  it('skip the slow dictionary form only for a large file whose delta is already a sliver of it', () => {
    const MiB = 1024 * 1024
    expect(dictWorthTrying(15 * MiB, 1000)).toBe(true)
    expect(dictWorthTrying(60 * MiB, 0.02 * 60 * MiB)).toBe(true)
    expect(dictWorthTrying(60 * MiB, 51_425)).toBe(false)
    expect(dictWorthTrying(16 * MiB, 0.01 * 16 * MiB)).toBe(false)
  })

  it('in the dictionary form, rebuild the new file across many segments, each a fraction of the new bytes', () => {
    const patch = makeDictPatch(old, next, { segmentBytes: 128 * 1024, marginBytes: 64 * 1024 })
    expect(patch.length).toBeLessThan(next.length / 20)
    expect(applyPatch(old, patch, next.length)).toEqual(next)
  })

  it('handle an empty new file and an empty old file', () => {
    expect(applyPatch(old, makeDictPatch(old, Buffer.alloc(0)), 0)).toEqual(Buffer.alloc(0))
    const fromNothing = makePatch(Buffer.alloc(0), next.subarray(0, 5000))
    expect(applyPatch(Buffer.alloc(0), fromNothing, 5000)).toEqual(next.subarray(0, 5000))
  })

  it('refuse, as an Error and never a throw, a patch without its header, with a wrong size, or segments past the files', () => {
    const patch = makeDictPatch(old, next, { segmentBytes: 256 * 1024, marginBytes: 64 * 1024 })
    expect(applyPatch(old, patch.subarray(4), next.length)).toBeInstanceOf(Error)
    expect(applyPatch(old, patch, next.length + 1)).toBeInstanceOf(Error)
    expect(applyPatch(old.subarray(0, 1000), patch, next.length)).toBeInstanceOf(Error)
    const lying = Buffer.from(patch)
    lying.writeUInt32LE(0xffffffff, 8 + 12)
    expect(applyPatch(old, lying, next.length)).toBeInstanceOf(Error)
  })

  it('build something else against another old file, which the caller catches by SHA-256', () => {
    const patch = makeDictPatch(old, next, { segmentBytes: 256 * 1024, marginBytes: 64 * 1024 })
    const other = applyPatch(seededBytes('other', old.length), patch, next.length)
    expect(other instanceof Error || !other.equals(next)).toBe(true)
  })
})
