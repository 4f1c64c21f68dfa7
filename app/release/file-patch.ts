// Per-file patches: zstd with an old file's bytes as a raw-content dictionary, which is what
// `zstd --patch-from=OLD` does; no new dependency, Node 24's zlib has it.
//
// Node passes a dictionary to zstd as a loaded dictionary, not as a referenced prefix as the
// zstd CLI does, and its match tables then cover only about 16 MiB of it: a 60 MB file with a
// byte changed every 4 KiB gave a 26.5 MB patch whole, against the CLI's 40 KB. So the new file
// is patched in segments, each against the old file's bytes around the same relative position.
// A recompiled binary keeps its layout, so that is where its matches are: the same 60 MB file
// then gives 41 KB, and a 10 MB executable 498 KiB against the CLI's 516 KiB.
import { constants, zstdCompressSync, zstdDecompressSync } from 'node:zlib'

/** `zstd -19`, the level the reference `zstd --patch-from` runs at in the bench. */
const PATCH_LEVEL = 19
/** New bytes per segment, and old bytes on either side of its position: 16 MiB of dictionary and input together. */
const SEGMENT_BYTES = 8 * 1024 * 1024
const MARGIN_BYTES = 4 * 1024 * 1024
const MAGIC = Buffer.from('SHP1')
/** Per segment: new length, dictionary start and length in the old file, frame length (u32 each). */
const ENTRY_BYTES = 16

interface Segment {
  readonly length: number
  readonly dictStart: number
  readonly dictLength: number
  readonly frame: Uint8Array
}

/** Files must be below 4 GiB: offsets are 32-bit (patches stop far below, see PATCH_MAX_FILE_BYTES). Tests pass smaller segments. */
export function makePatch(oldFile: Uint8Array, newFile: Uint8Array, segmentBytes = SEGMENT_BYTES, marginBytes = MARGIN_BYTES): Buffer {
  const segments: Segment[] = []
  for (let start = 0; start < newFile.length || segments.length === 0; start += segmentBytes) {
    const end = Math.min(newFile.length, start + segmentBytes)
    const center = newFile.length > 0 ? Math.round((start * oldFile.length) / newFile.length) : 0
    const dictStart = Math.max(0, center - marginBytes)
    const dictEnd = Math.min(oldFile.length, center + (end - start) + marginBytes)
    const frame = zstdCompressSync(newFile.subarray(start, end), {
      ...(dictEnd > dictStart ? { dictionary: oldFile.subarray(dictStart, dictEnd) } : {}),
      params: {
        [constants.ZSTD_c_compressionLevel]: PATCH_LEVEL,
        [constants.ZSTD_c_windowLog]: Math.max(20, Math.ceil(Math.log2(dictEnd - dictStart + end - start + 1))),
        [constants.ZSTD_c_checksumFlag]: 0,
      },
    })
    segments.push({ length: end - start, dictStart, dictLength: Math.max(0, dictEnd - dictStart), frame })
  }
  const header = Buffer.alloc(MAGIC.length + 4 + segments.length * ENTRY_BYTES)
  MAGIC.copy(header)
  header.writeUInt32LE(segments.length, 4)
  segments.forEach((s, i) => {
    const at = 8 + i * ENTRY_BYTES
    header.writeUInt32LE(s.length, at)
    header.writeUInt32LE(s.dictStart, at + 4)
    header.writeUInt32LE(s.dictLength, at + 8)
    header.writeUInt32LE(s.frame.length, at + 12)
  })
  return Buffer.concat([header, ...segments.map((s) => s.frame)])
}

/** The new file's bytes, or an Error when the patch does not decode against `oldFile` to `size` bytes. */
export function applyPatch(oldFile: Uint8Array, patch: Uint8Array, size: number): Buffer | Error {
  const p = Buffer.from(patch.buffer, patch.byteOffset, patch.length)
  if (p.length < 8 || !p.subarray(0, 4).equals(MAGIC)) return new Error('the patch has no Shoal patch header')
  const count = p.readUInt32LE(4)
  let frameAt = 8 + count * ENTRY_BYTES
  if (frameAt > p.length) return new Error('the patch header runs past its end')
  const out = Buffer.allocUnsafe(size)
  let written = 0
  for (let i = 0; i < count; i++) {
    const at = 8 + i * ENTRY_BYTES
    const [length, dictStart, dictLength, frameLength] = [p.readUInt32LE(at), p.readUInt32LE(at + 4), p.readUInt32LE(at + 8), p.readUInt32LE(at + 12)]
    if (written + length > size || dictStart + dictLength > oldFile.length || frameAt + frameLength > p.length) return new Error(`patch segment ${i} lies outside the files`)
    try {
      const part = zstdDecompressSync(p.subarray(frameAt, frameAt + frameLength), {
        ...(dictLength > 0 ? { dictionary: oldFile.subarray(dictStart, dictStart + dictLength) } : {}),
        maxOutputLength: Math.max(1, length),
        params: { [constants.ZSTD_d_windowLogMax]: 31 },
      })
      if (part.length !== length) return new Error(`patch segment ${i} builds ${part.length} bytes, not ${length}`)
      part.copy(out, written)
    } catch (err) {
      return new Error(`the patch does not decode: ${(err as Error).message}`)
    }
    written += length
    frameAt += frameLength
  }
  return written === size && frameAt === p.length ? out : new Error(`the patch builds ${written} bytes, not ${size}`)
}
