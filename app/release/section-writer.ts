import { open, type FileHandle } from 'node:fs/promises'
import type { NewChunk } from './pack-planner.ts'
import { PieceHasher } from './piece-hasher.ts'
import type { CompressedChunks, ReleaseWorkers } from './release-workers.ts'

const BATCH_BYTES = 16 * 1024 * 1024

export interface SectionResult {
  /** Stored size of each new chunk; smaller than its raw size when zstd saved space. */
  readonly stored: number[]
  readonly storeSize: number
  /** SHA-1 of each of the section's pieces (the last one zero-padded). */
  readonly pieces: Buffer
}

/** Consecutive new chunks, up to BATCH_BYTES, cut so no batch is empty. */
function* batches(chunks: readonly NewChunk[]): Generator<readonly NewChunk[]> {
  for (let start = 0; start < chunks.length; ) {
    let end = start
    let bytes = 0
    while (end < chunks.length && (end === start || bytes + chunks[end]!.size <= BATCH_BYTES)) bytes += chunks[end++]!.size
    yield chunks.slice(start, end)
    start = end
  }
}

/** Reads a batch's raw bytes, one read per run of chunks that sit back to back in the same file. */
async function readBatch(batch: readonly NewChunk[], files: OpenFiles): Promise<Buffer> {
  // Never from Node's shared pool (small sizes would be): the buffer is transferred to a worker,
  // and the pool's memory cannot be.
  const raw = Buffer.allocUnsafeSlow(batch.reduce((n, c) => n + c.size, 0))
  let pos = 0
  for (let i = 0; i < batch.length; ) {
    const first = batch[i]!
    let length = first.size
    let j = i + 1
    while (j < batch.length && batch[j]!.file === first.file && batch[j]!.fileOffset === first.fileOffset + length) length += batch[j++]!.size
    const handle = await files.get(first.file)
    const { bytesRead } = await handle.read(raw, pos, length, first.fileOffset)
    if (bytesRead !== length) throw new Error(`${files.path(first.file)} changed while publishing`)
    pos += length
    i = j
  }
  return raw
}

/** Keeps one source file open at a time: new chunks arrive grouped by file. */
class OpenFiles {
  private current: { file: number; handle: FileHandle } | undefined
  private readonly paths: readonly string[]

  constructor(paths: readonly string[]) {
    this.paths = paths
  }

  path(file: number): string {
    return this.paths[file]!
  }

  async get(file: number): Promise<FileHandle> {
    if (this.current?.file !== file) {
      await this.current?.handle.close()
      this.current = { file, handle: await open(this.paths[file]!, 'r') }
    }
    return this.current.handle
  }

  async close(): Promise<void> {
    await this.current?.handle.close()
  }
}

/**
 * Writes a release's new chunks to the CDN store in pack order and hashes the raw
 * pack pieces they form. Each chunk's bytes are read once from the build; zstd runs
 * in the worker threads while the next batch is read and piece-hashed here.
 */
export async function writeSection(chunks: readonly NewChunk[], sourcePaths: readonly string[], storePath: string, pieceLength: number, workers: ReleaseWorkers, onProgress: (rawBytes: number) => void): Promise<SectionResult> {
  const out = await open(storePath, 'wx')
  const files = new OpenFiles(sourcePaths)
  const hasher = new PieceHasher(pieceLength)
  const stored: number[] = []
  let storeSize = 0
  let rawDone = 0
  const inFlight: { raw: number; result: Promise<CompressedChunks> }[] = []
  const drainOne = async () => {
    const next = inFlight.shift()!
    const { stored: bytes, storedSizes } = await next.result
    await out.write(bytes)
    stored.push(...storedSizes)
    storeSize += bytes.length
    rawDone += next.raw
    onProgress(rawDone)
  }
  try {
    for (const batch of batches(chunks)) {
      const raw = await readBatch(batch, files)
      hasher.update(raw)
      inFlight.push({ raw: raw.length, result: workers.compress(raw, batch.map((c) => c.size)) })
      if (inFlight.length > workers.size) await drainOne()
    }
    while (inFlight.length > 0) await drainOne()
    await out.sync()
  } finally {
    await Promise.allSettled(inFlight.map((f) => f.result))
    await files.close()
    await out.close()
  }
  return { stored, storeSize, pieces: hasher.finish() }
}
