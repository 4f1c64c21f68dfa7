// Per-file patches, in one of two forms; publish keeps the smaller (README, "Patches"):
//
// - Dictionary: zstd with an old file's bytes as a raw-content dictionary, which is what
//   `zstd --patch-from=OLD` does; no new dependency, Node 24's zlib has it.
// - Delta: a recompiled executable keeps its code in place but changes addresses everywhere, so
//   nearly every 16 bytes differ in a byte or two, and zstd's matches break at each. As bsdiff
//   does, each block of the new file is aligned with the old file, and the byte differences are
//   compressed instead: mostly zeros. esbuild's 9.8 MiB executable, 0.25.4 to 0.25.5: 179 KiB
//   against the dictionary form's 355 KiB (bsdiff: 136 KiB, `zstd --patch-from`: 367 KiB).
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
const DELTA_MAGIC = Buffer.from('SHD1')
/** Per segment: new length, dictionary start and length in the old file, frame length (u32 each). */
const ENTRY_BYTES = 16

interface Segment {
  readonly length: number
  readonly dictStart: number
  readonly dictLength: number
  readonly frame: Uint8Array
}

export interface DictPatchOptions {
  /** Tests pass smaller segments. */
  readonly segmentBytes?: number
  readonly marginBytes?: number
  /** zstd's level; manifest deltas of large releases take a faster one (manifest-forms.ts). */
  readonly level?: number
}

/** Files must be below 4 GiB: offsets are 32-bit (patches stop far below, see PATCH_MAX_FILE_BYTES). */
export function makeDictPatch(oldFile: Uint8Array, newFile: Uint8Array, o: DictPatchOptions = {}): Buffer {
  const { segmentBytes = SEGMENT_BYTES, marginBytes = MARGIN_BYTES, level = PATCH_LEVEL } = o
  const segments: Segment[] = []
  for (let start = 0; start < newFile.length || segments.length === 0; start += segmentBytes) {
    const end = Math.min(newFile.length, start + segmentBytes)
    const center = newFile.length > 0 ? Math.round((start * oldFile.length) / newFile.length) : 0
    const dictStart = Math.max(0, center - marginBytes)
    const dictEnd = Math.min(oldFile.length, center + (end - start) + marginBytes)
    const frame = zstdCompressSync(newFile.subarray(start, end), {
      ...(dictEnd > dictStart ? { dictionary: oldFile.subarray(dictStart, dictEnd) } : {}),
      params: {
        [constants.ZSTD_c_compressionLevel]: level,
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

function applyDictPatch(oldFile: Uint8Array, p: Buffer, size: number): Buffer | Error {
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

/** New bytes per aligned block of a delta patch: smaller blocks got fewer gram hits to align by (1 KiB: 273 KiB for esbuild, 2 KiB: 179 KiB, 4 KiB: 186 KiB). */
const DELTA_BLOCK = 2048
/** Bytes hashed to find where a block sits in the old file. */
const GRAM = 16
/**
 * Old positions indexed: one in this many, more sparsely past 32 MiB so the table stays at most
 * 64 MiB; every new position is looked up, so each alignment still gets hits.
 */
const OLD_STRIDE = 4
const INDEX_BITS_MAX = 24
/** Alignments tried per block (the most voted, and the previous block's), judged by the bytes that match. */
const CANDIDATES = 4
/** Per delta patch: block size, block count, new size (u32 each), after the magic. */
const DELTA_HEADER = 16

function gramHash(view: DataView, i: number): number {
  return (view.getUint32(i, true) ^ Math.imul(view.getUint32(i + 4, true), 0x9e3779b1) ^ Math.imul(view.getUint32(i + 8, true), 0x85ebca6b) ^ Math.imul(view.getUint32(i + 12, true), 0xc2b2ae35)) >>> 0
}

const viewOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.length)

/** Where 16-byte grams sit in the old file: open addressing over positions + 1 (0 is empty), first occurrence kept. */
class GramIndex {
  private readonly table: Int32Array
  private readonly mask: number
  private readonly old: DataView

  constructor(old: Uint8Array) {
    const stride = Math.max(OLD_STRIDE, Math.ceil((old.length * 2) / 2 ** INDEX_BITS_MAX))
    const bits = Math.min(INDEX_BITS_MAX, Math.max(10, Math.ceil(Math.log2((old.length / stride) * 2 + 1))))
    this.table = new Int32Array(1 << bits)
    this.mask = (1 << bits) - 1
    this.old = viewOf(old)
    for (let i = 0; i + GRAM <= old.length; i += stride) {
      let slot = gramHash(this.old, i) & this.mask
      for (let probe = 0; probe < 8 && this.table[slot] !== 0; probe++) slot = (slot + 1) & this.mask
      if (this.table[slot] === 0) this.table[slot] = i + 1
    }
  }

  /** An old position holding the same 16 bytes as `view` at `i`, or -1. */
  find(view: DataView, i: number): number {
    let slot = gramHash(view, i) & this.mask
    for (let probe = 0; probe < 8; probe++, slot = (slot + 1) & this.mask) {
      const at = this.table[slot]! - 1
      if (at < 0) return -1
      if (this.old.getUint32(at, true) === view.getUint32(i, true) && this.old.getUint32(at + 4, true) === view.getUint32(i + 4, true) && this.old.getUint32(at + 8, true) === view.getUint32(i + 8, true) && this.old.getUint32(at + 12, true) === view.getUint32(i + 12, true)) return at
    }
    return -1
  }
}

/** The shift (old position - new position) that matches most of block [start, end). */
function alignBlock(index: GramIndex, oldFile: Uint8Array, newFile: Uint8Array, view: DataView, start: number, end: number, previous: number): number {
  // A block the previous shift matches byte for byte cannot be matched better: no vote. Most
  // blocks of a lightly edited file are such, and the vote looks up every one of their grams.
  const from = start + previous
  if (from >= 0 && from + end - start <= oldFile.length && Buffer.compare(newFile.subarray(start, end), oldFile.subarray(from, from + end - start)) === 0) return previous
  const votes = new Map<number, number>()
  for (let i = start; i + GRAM <= end; i++) {
    const at = index.find(view, i)
    if (at >= 0) votes.set(at - i, (votes.get(at - i) ?? 0) + 1)
  }
  const candidates = [...votes.entries()].sort((a, b) => b[1] - a[1]).slice(0, CANDIDATES).map(([shift]) => shift)
  if (!candidates.includes(previous)) candidates.push(previous)
  let best = previous
  let bestSame = -1
  for (const shift of candidates) {
    let same = 0
    for (let i = Math.max(start, -shift); i < end && i + shift < oldFile.length; i++) if (newFile[i] === oldFile[i + shift]) same++
    if (same > bestSame) [best, bestSame] = [shift, same]
  }
  return best
}

export function makeDeltaPatch(oldFile: Uint8Array, newFile: Uint8Array): Buffer {
  const index = new GramIndex(oldFile)
  const view = viewOf(newFile)
  const blocks = Math.ceil(newFile.length / DELTA_BLOCK)
  const body = Buffer.alloc(blocks * 4 + newFile.length)
  let shift = 0
  for (let b = 0; b < blocks; b++) {
    const start = b * DELTA_BLOCK
    const end = Math.min(newFile.length, start + DELTA_BLOCK)
    shift = alignBlock(index, oldFile, newFile, view, start, end, shift)
    body.writeInt32LE(shift, b * 4)
    const diff = blocks * 4
    for (let i = start; i < end; i++) {
      const j = i + shift
      body[diff + i] = (newFile[i]! - (j >= 0 && j < oldFile.length ? oldFile[j]! : 0)) & 0xff
    }
  }
  const frame = zstdCompressSync(body, {
    params: {
      [constants.ZSTD_c_compressionLevel]: PATCH_LEVEL,
      [constants.ZSTD_c_enableLongDistanceMatching]: 1,
      [constants.ZSTD_c_windowLog]: Math.min(27, Math.max(20, Math.ceil(Math.log2(body.length + 1)))),
      [constants.ZSTD_c_checksumFlag]: 0,
    },
  })
  const header = Buffer.alloc(DELTA_HEADER)
  DELTA_MAGIC.copy(header)
  header.writeUInt32LE(DELTA_BLOCK, 4)
  header.writeUInt32LE(blocks, 8)
  header.writeUInt32LE(newFile.length, 12)
  return Buffer.concat([header, frame])
}

function applyDeltaPatch(oldFile: Uint8Array, p: Buffer, size: number): Buffer | Error {
  if (p.length < DELTA_HEADER) return new Error('the patch header runs past its end')
  const [block, blocks, newSize] = [p.readUInt32LE(4), p.readUInt32LE(8), p.readUInt32LE(12)]
  if (newSize !== size || block === 0 || blocks !== Math.ceil(size / block)) return new Error(`the patch builds ${newSize} bytes, not ${size}`)
  let body: Buffer
  try {
    body = zstdDecompressSync(p.subarray(DELTA_HEADER), { maxOutputLength: Math.max(1, blocks * 4 + size), params: { [constants.ZSTD_d_windowLogMax]: 31 } })
  } catch (err) {
    return new Error(`the patch does not decode: ${(err as Error).message}`)
  }
  if (body.length !== blocks * 4 + size) return new Error('the patch decodes to the wrong length')
  const out = Buffer.allocUnsafe(size)
  const diff = blocks * 4
  for (let b = 0; b < blocks; b++) {
    const shift = body.readInt32LE(b * 4)
    for (let i = b * block, end = Math.min(size, i + block); i < end; i++) {
      const j = i + shift
      out[i] = (body[diff + i]! + (j >= 0 && j < oldFile.length ? oldFile[j]! : 0)) & 0xff
    }
  }
  return out
}

/**
 * Files from this size whose delta is at most this share of them keep the delta without trying
 * the dictionary form: zstd -19 runs at about 2.5 MB/s here (a 60 MiB asset with 24 scattered
 * edits: delta 51 KB in 3.5 s, dictionary 55 KB in 24 s), and could save at most the delta's
 * bytes. The bench's update pairs stay below one bound or the other.
 */
const DICT_SKIP_FROM_BYTES = 16 * 1024 * 1024
const DICT_SKIP_DELTA_SHARE = 0.01

/** Whether a dictionary patch may still beat a delta of `deltaBytes` by enough to be worth its time. */
export function dictWorthTrying(newBytes: number, deltaBytes: number): boolean {
  return newBytes < DICT_SKIP_FROM_BYTES || deltaBytes > newBytes * DICT_SKIP_DELTA_SHARE
}

/** The smaller of the two forms (see the top of this file), or the delta alone when it is small enough. */
export function makePatch(oldFile: Uint8Array, newFile: Uint8Array): Buffer {
  const delta = makeDeltaPatch(oldFile, newFile)
  if (!dictWorthTrying(newFile.length, delta.length)) return delta
  const dict = makeDictPatch(oldFile, newFile)
  return delta.length < dict.length ? delta : dict
}

/** The new file's bytes, or an Error when the patch does not decode against `oldFile` to `size` bytes. */
export function applyPatch(oldFile: Uint8Array, patch: Uint8Array, size: number): Buffer | Error {
  const p = Buffer.from(patch.buffer, patch.byteOffset, patch.length)
  if (p.length >= 4 && p.subarray(0, 4).equals(DELTA_MAGIC)) return applyDeltaPatch(oldFile, p, size)
  if (p.length >= 8 && p.subarray(0, 4).equals(MAGIC)) return applyDictPatch(oldFile, p, size)
  return new Error('the patch has no Shoal patch header')
}
