// Worker thread for the CPU-heavy parts of publishing: chunking and hashing file
// ranges in one read pass, whole-file SHA-256, and per-chunk zstd for the CDN store.
import { closeSync, openSync, readSync } from 'node:fs'
import { createHash, hash } from 'node:crypto'
import { parentPort } from 'node:worker_threads'
import { zstdCompressSync } from 'node:zlib'
import { looksIncompressible } from './entropy.ts'
import { chunkMasks, cutPoint } from './fastcdc.ts'
import type { ChunkedRange, ChunkRangeTask, CompressedChunks, CompressTask, FileHash, HashFileTask, ReleaseResult, ReleaseTask } from './release-tasks.ts'
import { serveWorker } from './worker-pool.ts'

const BLOCK = 8 * 1024 * 1024

function chunkRange(task: ChunkRangeTask, progress: (bytes: number) => void): ChunkedRange {
  const { params, start, end, overlap } = task
  const masks = chunkMasks(params)
  const buf = Buffer.allocUnsafe(BLOCK + params.max)
  const fileHash = task.hashFile ? createHash('sha256') : undefined
  const lengths: number[] = []
  const digests: Buffer[] = []
  const fd = openSync(task.path, 'r')
  try {
    let readAt = start
    let bufAt = start
    let filled = 0
    let eof = false
    let extra = 0
    let stop = false
    while (!stop) {
      while (!eof && filled < buf.length) {
        const n = readSync(fd, buf, filled, buf.length - filled, readAt)
        if (n === 0) eof = true
        filled += n
        readAt += n
      }
      let s = 0
      while (s < filled && (eof || filled - s >= params.max)) {
        if (bufAt + s >= end && extra++ >= overlap) {
          stop = true
          break
        }
        const len = cutPoint(buf, s, filled, params, masks)
        digests.push(hash('sha256', buf.subarray(s, s + len), 'buffer'))
        lengths.push(len)
        s += len
      }
      fileHash?.update(buf.subarray(0, s))
      bufAt += s
      buf.copyWithin(0, s, filled)
      filled -= s
      progress(bufAt - start)
      if (eof && filled === 0) stop = true
    }
  } finally {
    closeSync(fd)
  }
  const all = new Uint8Array(digests.length * 32)
  digests.forEach((d, i) => all.set(d, i * 32))
  return { start, lengths: Uint32Array.from(lengths), digests: all, fileSha256: fileHash?.digest('hex') }
}

function hashFile(task: HashFileTask): FileHash {
  const buf = Buffer.allocUnsafe(BLOCK)
  const h = createHash('sha256')
  const fd = openSync(task.path, 'r')
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n))
  } finally {
    closeSync(fd)
  }
  return { sha256: h.digest('hex') }
}

/**
 * Compacts each chunk's store form into the raw buffer itself: a store form is never
 * larger than its chunk, so the write position never overtakes the read position.
 */
function compress(task: CompressTask): CompressedChunks {
  const buf = task.raw
  const storedSizes: number[] = []
  let read = 0
  let write = 0
  for (const size of task.sizes) {
    const raw = buf.subarray(read, read + size)
    const packed = looksIncompressible(raw) ? undefined : zstdCompressSync(raw)
    if (packed && packed.length < size) {
      buf.set(packed, write)
      storedSizes.push(packed.length)
      write += packed.length
    } else {
      if (write !== read) buf.copyWithin(write, read, read + size)
      storedSizes.push(size)
      write += size
    }
    read += size
  }
  return { stored: buf.subarray(0, write), storedSizes }
}

serveWorker<ReleaseTask, ReleaseResult>(parentPort!, (task, progress) => {
  switch (task.kind) {
    case 'chunkRange': {
      const result = chunkRange(task, progress)
      return { result, transfer: [result.digests.buffer as ArrayBuffer] }
    }
    case 'hashFile':
      return { result: hashFile(task), transfer: [] }
    case 'compress': {
      const result = compress(task)
      return { result, transfer: [result.stored.buffer as ArrayBuffer] }
    }
  }
})
