import { availableParallelism } from 'node:os'
import { Worker, type Transferable } from 'node:worker_threads'

/** Messages a pool worker sends: progress while working, then one result or an error. */
export type WorkerReply<R> =
  | { readonly id: number; readonly kind: 'progress'; readonly bytes: number }
  | { readonly id: number; readonly kind: 'done'; readonly result: R }
  | { readonly id: number; readonly kind: 'error'; readonly message: string }

export interface WorkerRequest<T> {
  readonly id: number
  readonly task: T
}

interface Pending<T, R> {
  readonly id: number
  readonly task: T
  readonly transfer: readonly Transferable[]
  readonly resolve: (r: R) => void
  readonly reject: (e: Error) => void
  readonly onProgress: ((bytes: number) => void) | undefined
  /** Index of the only worker that may run it (it keeps state there), if any. */
  readonly pinned: number | undefined
}

/** A fixed set of worker threads running one script; each takes one task at a time, in submission order. */
export class WorkerPool<T, R> {
  private readonly idle: Worker[] = []
  private readonly all: Worker[] = []
  private readonly queue: Pending<T, R>[] = []
  private readonly running = new Map<number, Pending<T, R>>()
  private nextId = 1

  /**
   * `compileCache` is a folder for Node's module compile cache in the workers. With it, a worker
   * loads its TypeScript already stripped instead of starting the type stripper: two placement
   * workers took 24 MB instead of 50 MB here. Keep it in a folder only this user can write
   * (see `userCompileCache` in compile-cache.ts).
   */
  constructor(script: URL, size: number = Math.max(1, availableParallelism()), options: { readonly compileCache?: string } = {}) {
    const env = options.compileCache ? { ...process.env, NODE_COMPILE_CACHE: options.compileCache } : undefined
    for (let i = 0; i < size; i++) {
      const worker = new Worker(script, env ? { env } : {})
      worker.on('message', (m: WorkerReply<R>) => this.onReply(worker, m))
      worker.on('error', (err) => this.failAll(err))
      this.all.push(worker)
      this.idle.push(worker)
    }
  }

  get size(): number {
    return this.all.length
  }

  run(task: T, transfer: readonly Transferable[] = [], onProgress?: (bytes: number) => void): Promise<R> {
    return this.enqueue(task, transfer, onProgress, undefined)
  }

  /** Runs `task` on worker `index` (modulo the pool size), after the tasks already pinned there. */
  runOn(index: number, task: T): Promise<R> {
    return this.enqueue(task, [], undefined, index % this.all.length)
  }

  private enqueue(task: T, transfer: readonly Transferable[], onProgress: ((bytes: number) => void) | undefined, pinned: number | undefined): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, transfer, resolve, reject, onProgress, pinned })
      this.dispatch()
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((w) => w.terminate()))
  }

  private dispatch(): void {
    for (let w = 0; w < this.idle.length && this.queue.length > 0; ) {
      const worker = this.idle[w]!
      const index = this.all.indexOf(worker)
      const at = this.queue.findIndex((job) => job.pinned === undefined || job.pinned === index)
      if (at < 0) {
        w++
        continue
      }
      const [job] = this.queue.splice(at, 1)
      this.idle.splice(w, 1)
      this.running.set(job!.id, job!)
      const request: WorkerRequest<T> = { id: job!.id, task: job!.task }
      worker.postMessage(request, [...job!.transfer])
    }
  }

  private onReply(worker: Worker, m: WorkerReply<R>): void {
    const job = this.running.get(m.id)
    if (!job) return
    if (m.kind === 'progress') {
      job.onProgress?.(m.bytes)
      return
    }
    this.running.delete(m.id)
    this.idle.push(worker)
    if (m.kind === 'done') job.resolve(m.result)
    else job.reject(new Error(m.message))
    this.dispatch()
  }

  private failAll(err: Error): void {
    for (const job of [...this.running.values(), ...this.queue]) job.reject(err)
    this.running.clear()
    this.queue.length = 0
  }
}

/** The worker side: answers each request with `handle`'s result, or its error message. */
export function serveWorker<T, R>(port: import('node:worker_threads').MessagePort, handle: (task: T, progress: (bytes: number) => void) => { result: R; transfer: Transferable[] }): void {
  port.on('message', ({ id, task }: WorkerRequest<T>) => {
    try {
      const { result, transfer } = handle(task, (bytes) => port.postMessage({ id, kind: 'progress', bytes } satisfies WorkerReply<R>))
      port.postMessage({ id, kind: 'done', result } satisfies WorkerReply<R>, transfer)
    } catch (err) {
      port.postMessage({ id, kind: 'error', message: (err as Error).message } satisfies WorkerReply<R>)
    }
  })
}
