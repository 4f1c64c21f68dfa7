import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { ShoalError } from '../../shared/errors.ts'
import type { ChunkParams } from './fastcdc.ts'
import type { ChunkHashReply, ChunkHashRequest } from './chunk-hash-protocol.ts'

export interface ChunkedFile {
  readonly lengths: Uint32Array
  /** 32 bytes per chunk. */
  readonly digests: Uint8Array
  readonly fileSha256: string
}

interface Pending {
  readonly req: ChunkHashRequest
  readonly resolve: (f: ChunkedFile) => void
  readonly reject: (e: Error) => void
  readonly onProgress: ((bytes: number) => void) | undefined
}

/** A fixed set of worker threads that chunk and hash whole files, one file per worker at a time. */
export class ChunkHashPool {
  private readonly idle: Worker[] = []
  private readonly all: Worker[] = []
  private readonly queue: Pending[] = []
  private readonly running = new Map<number, Pending>()
  private nextId = 1

  constructor(size: number = Math.max(1, availableParallelism())) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./chunk-hash-worker.ts', import.meta.url))
      worker.on('message', (m: ChunkHashReply) => this.onReply(worker, m))
      worker.on('error', (err) => this.failAll(err))
      this.all.push(worker)
      this.idle.push(worker)
    }
  }

  chunkFile(path: string, params: ChunkParams, onProgress?: (bytes: number) => void): Promise<ChunkedFile> {
    return new Promise((resolve, reject) => {
      this.queue.push({ req: { id: this.nextId++, path, params }, resolve, reject, onProgress })
      this.dispatch()
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((w) => w.terminate()))
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const job = this.queue.shift()!
      const worker = this.idle.pop()!
      this.running.set(job.req.id, job)
      worker.postMessage(job.req)
    }
  }

  private onReply(worker: Worker, m: ChunkHashReply): void {
    const job = this.running.get(m.id)
    if (!job) return
    if (m.kind === 'progress') {
      job.onProgress?.(m.bytes)
      return
    }
    this.running.delete(m.id)
    this.idle.push(worker)
    if (m.kind === 'done') job.resolve({ lengths: m.lengths, digests: m.digests, fileSha256: m.fileSha256 })
    else job.reject(new ShoalError('E_IO', `cannot read ${job.req.path}: ${m.message}`))
    this.dispatch()
  }

  private failAll(err: Error): void {
    for (const job of [...this.running.values(), ...this.queue]) job.reject(err)
    this.running.clear()
    this.queue.length = 0
  }
}
