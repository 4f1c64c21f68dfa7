// Worker thread for the CPU-heavy parts of publishing: chunking and hashing file
// ranges in one read pass, whole-file SHA-256, and per-chunk zstd for the CDN store.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs'
import { createHash, hash } from 'node:crypto'
import { parentPort } from 'node:worker_threads'
import { zstdCompressSync } from 'node:zlib'
import { looksIncompressible } from './entropy.ts'
import { chunkMasks, cutPoint } from './fastcdc.ts'
import { OLD_CHUNK_FIELDS, type ChunkedRange, type ChunkRangeTask, type CompressedChunks, type CompressTask, type FileHash, type HashFileTask, type MadePatch, type MakePatchTask, type ReleaseResult, type ReleaseTask } from './release-tasks.ts'
import { applyPatch, makePatch } from './file-patch.ts'
import { rawChunk } from './store-reader.ts'
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

/** The old file as the CDN store holds it, checked against its signed SHA-256 before it is trusted as a dictionary. */
function rebuildOld(task: MakePatchTask): Buffer {
  const n = task.oldChunks.length / OLD_CHUNK_FIELDS
  let size = 0
  for (let i = 0; i < n; i++) size += task.oldChunks[i * OLD_CHUNK_FIELDS + 3]!
  const old = Buffer.allocUnsafe(size)
  const fds = task.stores.map((p) => openSync(p, 'r'))
  try {
    let at = 0
    for (let i = 0; i < n; i++) {
      const [store, offset, stored, raw] = task.oldChunks.subarray(i * OLD_CHUNK_FIELDS, i * OLD_CHUNK_FIELDS + OLD_CHUNK_FIELDS)
      const bytes = Buffer.allocUnsafe(stored!)
      if (readSync(fds[store!]!, bytes, 0, stored!, offset!) !== stored) throw new Error(`${task.stores[store!]} is shorter than the manifest says`)
      rawChunk(bytes, raw!, task.stores[store!]!).copy(old, at)
      at += raw!
    }
  } finally {
    fds.forEach((fd) => closeSync(fd))
  }
  if (createHash('sha256').update(old).digest('hex') !== task.oldSha256) throw new Error('an earlier release rebuilt from the CDN store does not match its SHA-256')
  return old
}

function patchFile(task: MakePatchTask): MadePatch {
  const old = rebuildOld(task)
  const next = readFileSync(task.newPath)
  if (next.length !== task.newSize) throw new Error(`${task.newPath} changed while publishing`)
  const patch = makePatch(old, next)
  // Kept only if it rebuilds the file here; a client checks the SHA-256 again after applying it.
  const check = applyPatch(old, patch, next.length)
  // A copy of its own: zlib's output may share a buffer that cannot be transferred.
  return { patch: check instanceof Error || !check.equals(next) ? undefined : new Uint8Array(patch) }
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
    case 'makePatch': {
      const result = patchFile(task)
      return { result, transfer: result.patch ? [result.patch.buffer as ArrayBuffer] : [] }
    }
  }
})
