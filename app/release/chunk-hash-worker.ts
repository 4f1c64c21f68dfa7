// Runs in a worker thread: reads one file once, cuts it with FastCDC, and hashes
// every chunk and the whole file in the same pass, so the main thread stays free.
import { closeSync, openSync, readSync } from 'node:fs'
import { createHash, hash } from 'node:crypto'
import { parentPort } from 'node:worker_threads'
import { chunkMasks, cutPoint } from './fastcdc.ts'
import type { ChunkHashRequest, ChunkHashReply } from './chunk-hash-protocol.ts'

const BLOCK = 8 * 1024 * 1024

function chunkAndHash(req: ChunkHashRequest, post: (m: ChunkHashReply) => void): void {
  const { params } = req
  const masks = chunkMasks(params)
  const buf = Buffer.allocUnsafe(BLOCK + params.max)
  const fileHash = createHash('sha256')
  const lengths: number[] = []
  const digests: Buffer[] = []
  const fd = openSync(req.path, 'r')
  try {
    let filled = 0
    let eof = false
    let done = 0
    while (!eof || filled > 0) {
      while (!eof && filled < buf.length) {
        const n = readSync(fd, buf, filled, buf.length - filled, null)
        if (n === 0) eof = true
        filled += n
      }
      let start = 0
      while (start < filled && (eof || filled - start >= params.max)) {
        const len = cutPoint(buf, start, filled, params, masks)
        digests.push(hash('sha256', buf.subarray(start, start + len), 'buffer'))
        lengths.push(len)
        start += len
      }
      fileHash.update(buf.subarray(0, start))
      done += start
      buf.copyWithin(0, start, filled)
      filled -= start
      post({ id: req.id, kind: 'progress', bytes: done })
    }
  } finally {
    closeSync(fd)
  }
  const digestBytes = Buffer.concat(digests)
  post({ id: req.id, kind: 'done', lengths: Uint32Array.from(lengths), digests: new Uint8Array(digestBytes.buffer, digestBytes.byteOffset, digestBytes.length), fileSha256: fileHash.digest('hex') })
}

parentPort!.on('message', (req: ChunkHashRequest) => {
  const post = (m: ChunkHashReply) => parentPort!.postMessage(m)
  try {
    chunkAndHash(req, post)
  } catch (err) {
    post({ id: req.id, kind: 'error', message: (err as Error).message, code: (err as NodeJS.ErrnoException).code })
  }
})
