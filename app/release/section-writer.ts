import { open, type FileHandle } from 'node:fs/promises'
import { promisify } from 'node:util'
import { zstdCompress } from 'node:zlib'
import type { NewChunk } from './pack-planner.ts'
import { PieceHasher } from './piece-hasher.ts'

const compress = promisify(zstdCompress)
const BATCH_BYTES = 32 * 1024 * 1024

export interface SectionResult {
  /** Stored size of each new chunk; smaller than its raw size when zstd saved space. */
  readonly stored: number[]
  readonly storeSize: number
  /** SHA-1 of each of the section's pieces (the last one zero-padded). */
  readonly pieces: Buffer
}

/**
 * Writes a release's new chunks to the CDN store in pack order and hashes the
 * raw pack pieces they form. Each chunk's bytes are read once from the build.
 */
export async function writeSection(chunks: readonly NewChunk[], sourcePaths: readonly string[], storePath: string, pieceLength: number, onProgress: (rawBytes: number) => void): Promise<SectionResult> {
  const out = await open(storePath, 'wx')
  const hasher = new PieceHasher(pieceLength)
  const stored: number[] = []
  let storeSize = 0
  let rawDone = 0
  let source: { file: number; handle: FileHandle } | undefined
  try {
    for (let start = 0; start < chunks.length; ) {
      let end = start
      let batchBytes = 0
      while (end < chunks.length && (end === start || batchBytes + chunks[end]!.size <= BATCH_BYTES)) batchBytes += chunks[end++]!.size
      const raws: Buffer[] = []
      for (let i = start; i < end; i++) {
        const c = chunks[i]!
        if (source?.file !== c.file) {
          await source?.handle.close()
          source = { file: c.file, handle: await open(sourcePaths[c.file]!, 'r') }
        }
        const buf = Buffer.allocUnsafe(c.size)
        const { bytesRead } = await source.handle.read(buf, 0, c.size, c.fileOffset)
        if (bytesRead !== c.size) throw new Error(`${sourcePaths[c.file]} changed while publishing`)
        raws.push(buf)
      }
      const packed = await Promise.all(raws.map((raw) => compress(raw)))
      for (let i = 0; i < raws.length; i++) {
        const raw = raws[i]!
        const best = packed[i]!.length < raw.length ? packed[i]! : raw
        hasher.update(raw)
        await out.write(best)
        stored.push(best.length)
        storeSize += best.length
        rawDone += raw.length
      }
      onProgress(rawDone)
      start = end
    }
    await out.sync()
  } finally {
    await source?.handle.close()
    await out.close()
  }
  return { stored, storeSize, pieces: hasher.finish() }
}
