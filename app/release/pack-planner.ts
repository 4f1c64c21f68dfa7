// Pure: decides which chunks a release adds to the pack and where they go.
// Each unique chunk is stored once, in the section of the release that first
// introduced it, in order of first appearance; sections start on piece boundaries.

export interface KnownChunks {
  /** 32-byte SHA-256 digests, one per chunk already in the pack, in pack order. */
  readonly digests: Uint8Array
  readonly sizes: readonly number[]
  /** Raw pack length so far; always a multiple of the piece length. */
  readonly packLength: number
}

export interface ChunkedInput {
  readonly lengths: ArrayLike<number>
  readonly digests: Uint8Array
}

export interface NewChunk {
  readonly file: number
  readonly fileOffset: number
  readonly size: number
}

export interface PackPlan {
  /** Global chunk index of every chunk of every file. */
  readonly fileChunks: number[][]
  readonly newChunks: NewChunk[]
  readonly newDigests: Uint8Array
  readonly section: { readonly offset: number; readonly length: number; readonly firstChunk: number; readonly chunkCount: number }
  readonly packLength: number
}

export function alignUp(n: number, unit: number): number {
  return Math.ceil(n / unit) * unit
}

function digestKey(digests: Uint8Array, i: number): string {
  return Buffer.from(digests.buffer, digests.byteOffset + i * 32, 32).toString('latin1')
}

export function planPack(known: KnownChunks, files: readonly ChunkedInput[], pieceLength: number): PackPlan {
  if (known.packLength % pieceLength !== 0) throw new Error('pack length must be piece-aligned')
  const index = new Map<string, number>()
  const knownCount = known.sizes.length
  for (let i = 0; i < knownCount; i++) index.set(digestKey(known.digests, i), i)

  const newChunks: NewChunk[] = []
  const newDigestParts: Uint8Array[] = []
  let sectionLength = 0
  const fileChunks = files.map((file, f) => {
    const refs: number[] = new Array(file.lengths.length)
    let offset = 0
    for (let c = 0; c < file.lengths.length; c++) {
      const size = file.lengths[c]!
      const key = digestKey(file.digests, c)
      let global = index.get(key)
      if (global === undefined) {
        global = knownCount + newChunks.length
        index.set(key, global)
        newChunks.push({ file: f, fileOffset: offset, size })
        newDigestParts.push(file.digests.subarray(c * 32, c * 32 + 32))
        sectionLength += size
      }
      refs[c] = global
      offset += size
    }
    return refs
  })
  return {
    fileChunks,
    newChunks,
    newDigests: Buffer.concat(newDigestParts),
    section: { offset: known.packLength, length: sectionLength, firstChunk: knownCount, chunkCount: newChunks.length },
    packLength: known.packLength + alignUp(sectionLength, pieceLength),
  }
}
