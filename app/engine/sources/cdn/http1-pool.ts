// A keep-alive pool of plain HTTP/1.1 connections to one origin that reads each response body
// straight into the caller's buffer (net's `onread`). undici allocated a Buffer for every socket
// read and streamed it, and the caller copied it into the range buffer: for 1 GiB that cost about
// 1.2 s of CPU and 85 MB of garbage-collected memory here (README, "CDN engine"). HTTPS stays on undici.
import { connect, type Socket } from 'node:net'
import { parseHead, type Chunked, type Framing, type ResponseHead } from './http1-head.ts'

/** Where a body goes: its first `skip` bytes are dropped, the next ones fill `into`. */
export interface BodyPlan {
  readonly skip: number
  readonly into: Buffer
}

export interface PoolRequest {
  /** Path and query of a GET. */
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  /** The request fails when no byte moves for this long, connecting included. */
  readonly idleMs: number
  /** Decides from the head where the body goes; throwing rejects the request with that error. */
  readonly plan: (head: ResponseHead) => BodyPlan
  /** Told of body bytes as they arrive, skipped ones included; a returned promise holds reading until it settles. */
  readonly onBytes?: (bytes: number) => Promise<void> | undefined
  /** Aborting ends the request at once (its connection with it) with the abort reason. */
  readonly signal?: AbortSignal
}

export interface PoolReply {
  readonly head: ResponseHead
  /** Bytes of `into` filled: fewer than its length when the body was shorter. */
  readonly filled: number
}

const SCRATCH_BYTES = 64 * 1024
const MAX_HEAD_BYTES = 64 * 1024
const MAX_LINE_BYTES = 4096

interface Exchange {
  readonly request: PoolRequest
  readonly resolve: (r: PoolReply) => void
  readonly reject: (e: Error) => void
  head: Buffer
  parsed: ResponseHead | undefined
  framing: Framing
  plan: BodyPlan | undefined
  /** Body bytes seen, framing excluded. */
  seen: number
  filled: number
  gotBytes: boolean
  keepAlive: boolean
}

/** A failure on a kept-alive socket before any answer: the server had closed it, so a fresh socket may retry. */
class StaleSocketError extends Error {}
/** No byte for too long, or too few (the caller aborted): never retried as a stale socket. */
class StallError extends Error {}

/** The message of an abort signal's reason. */
export function abortMessage(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : String(signal.reason)
}

/** One socket, carrying one exchange at a time. */
class Connection {
  readonly socket: Socket
  dead = false
  /** Exchanges completed; a socket that served one may since have been closed by the server. */
  private served = 0
  private ex: Exchange | undefined
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES)
  private readonly host: string
  private readonly onFree: (c: Connection) => void

  constructor(host: string, hostname: string, port: number, onFree: (c: Connection) => void) {
    this.host = host
    this.onFree = onFree
    this.socket = connect({ host: hostname, port, noDelay: true, onread: { buffer: () => this.nextBuffer(), callback: (n: number) => this.onRead(n) } })
    this.socket.on('error', (err) => this.fail(err))
    this.socket.on('end', () => this.onEnd())
    this.socket.on('close', () => this.fail(new Error('connection closed')))
    this.socket.on('timeout', () => this.socket.destroy(this.ex ? new StallError(`no bytes for ${this.ex.request.idleMs} ms`) : undefined))
  }

  start(request: PoolRequest, resolve: (r: PoolReply) => void, reject: (e: Error) => void): void {
    this.ex = { request, resolve, reject, head: Buffer.alloc(0), parsed: undefined, framing: { kind: 'close' }, plan: undefined, seen: 0, filled: 0, gotBytes: false, keepAlive: false }
    this.socket.ref()
    this.socket.setTimeout(request.idleMs)
    request.signal?.addEventListener('abort', () => void (this.ex?.request === request && this.socket.destroy(new StallError(abortMessage(request.signal!)))), { once: true })
    let text = `GET ${request.path} HTTP/1.1\r\nhost: ${this.host}\r\n`
    for (const [name, value] of Object.entries(request.headers)) text += `${name}: ${value}\r\n`
    this.socket.write(text + '\r\n')
  }

  /** Parks a kept-alive socket: it closes itself after `idleMs` and does not hold the process open. */
  park(idleMs: number): void {
    this.socket.setTimeout(idleMs)
    this.socket.unref()
  }

  retire(): void {
    this.dead = true
    this.socket.destroy()
  }

  /** Where the next read lands: straight into the caller's buffer while a plain body fills it. */
  private nextBuffer(): Uint8Array {
    const room = this.directRoom()
    return room > 0 ? this.ex!.plan!.into.subarray(this.ex!.filled, this.ex!.filled + room) : this.scratch
  }

  private directRoom(): number {
    const ex = this.ex
    if (!ex?.plan || ex.framing.kind === 'chunked' || ex.seen < ex.plan.skip) return 0
    const room = ex.plan.into.length - ex.filled
    return ex.framing.kind === 'length' ? Math.min(room, ex.framing.remaining) : room
  }

  private onRead(n: number): boolean {
    const ex = this.ex
    if (!ex) {
      // Bytes nobody asked for: this socket is out of step.
      this.retire()
      return false
    }
    ex.gotBytes = true
    try {
      if (this.directRoom() > 0) {
        // nextBuffer() handed out `into`: the bytes are already in place.
        ex.seen += n
        ex.filled += n
        if (ex.framing.kind === 'length') ex.framing.remaining -= n
        return this.afterBody(ex, n)
      }
      let bytes = this.scratch.subarray(0, n)
      if (!ex.parsed) {
        ex.head = Buffer.concat([ex.head, bytes])
        const end = ex.head.indexOf('\r\n\r\n')
        if (end < 0) {
          if (ex.head.length > MAX_HEAD_BYTES) throw new Error(`response head larger than ${MAX_HEAD_BYTES} bytes`)
          return true
        }
        const rest = ex.head.subarray(end + 4)
        const { head, framing, keepAlive } = parseHead(ex.head.toString('latin1', 0, end))
        if (head.status < 200) {
          // Informational (100 Continue and the like): the real head follows.
          ex.head = Buffer.alloc(0)
          return rest.length > 0 ? (rest.copy(this.scratch), this.onRead(rest.length)) : true
        }
        ex.parsed = head
        ex.framing = framing
        ex.keepAlive = keepAlive
        try {
          ex.plan = ex.request.plan(head)
        } catch (err) {
          // The caller refused this answer: its error stands as it is.
          this.ex = undefined
          this.retire()
          ex.reject(err as Error)
          return false
        }
        bytes = Buffer.from(rest)
        ex.head = Buffer.alloc(0)
      }
      const before = ex.seen
      this.consume(ex, bytes)
      return this.afterBody(ex, ex.seen - before)
    } catch (err) {
      this.retire()
      this.settle(ex, err as Error)
      return false
    }
  }

  /** Body bytes that arrived in the scratch buffer: unframed, skipped, copied into place. */
  private consume(ex: Exchange, bytes: Buffer): void {
    const f = ex.framing
    let at = 0
    while (at < bytes.length && !this.bodyDone(ex)) {
      if (f.kind !== 'chunked') {
        const take = f.kind === 'length' ? Math.min(f.remaining, bytes.length - at) : bytes.length - at
        if (f.kind === 'length') f.remaining -= take
        this.place(ex, bytes.subarray(at, at + take))
        at += take
      } else if (f.state === 'data') {
        const take = Math.min(f.remaining, bytes.length - at)
        f.remaining -= take
        if (f.remaining === 0) f.state = 'data-end'
        this.place(ex, bytes.subarray(at, at + take))
        at += take
      } else {
        at = this.chunkLine(f, bytes, at)
      }
    }
    // Bytes after the end of the body break the framing: never reuse this socket.
    if (at < bytes.length) ex.keepAlive = false
  }

  /** One line of chunked framing (a size, the CRLF after data, a trailer); returns where it ends. */
  private chunkLine(f: Chunked, bytes: Buffer, at: number): number {
    const nl = bytes.indexOf(10, at)
    if (nl < 0) {
      f.line += bytes.toString('latin1', at)
      if (f.line.length > MAX_LINE_BYTES) throw new Error('chunked framing line too long')
      return bytes.length
    }
    const line = (f.line + bytes.toString('latin1', at, nl)).replace(/\r$/, '')
    f.line = ''
    if (f.state === 'data-end') {
      if (line !== '') throw new Error('chunked body: data longer than its chunk size')
      f.state = 'size'
    } else if (f.state === 'size') {
      const size = /^[0-9a-fA-F]+/.exec(line)
      if (!size) throw new Error(`chunked body: bad size line "${line.slice(0, 40)}"`)
      f.remaining = parseInt(size[0], 16)
      f.state = f.remaining === 0 ? 'trailer' : 'data'
    } else if (line === '') {
      f.state = 'done'
    }
    return nl + 1
  }

  private place(ex: Exchange, part: Buffer): void {
    const plan = ex.plan!
    const from = Math.min(part.length, Math.max(0, plan.skip - ex.seen))
    ex.seen += part.length
    const take = Math.min(part.length - from, plan.into.length - ex.filled)
    if (take > 0) {
      part.copy(plan.into, ex.filled, from, from + take)
      ex.filled += take
    }
  }

  private bodyDone(ex: Exchange): boolean {
    const f = ex.framing
    return f.kind === 'length' ? f.remaining === 0 : f.kind === 'chunked' ? f.state === 'done' : false
  }

  /** After body bytes: throttle, and finish once the body is complete or `into` is full. */
  private afterBody(ex: Exchange, counted: number): boolean {
    const wait = counted > 0 ? ex.request.onBytes?.(counted) : undefined
    const done = this.bodyDone(ex)
    if (done || ex.filled === ex.plan!.into.length) {
      // A body longer than wanted (a 200 for a range) is cut off here.
      if (!done) ex.keepAlive = false
      this.ex = undefined
      const reply = { head: ex.parsed!, filled: ex.filled }
      const finish = () => {
        if (ex.keepAlive && !this.dead) {
          this.served++
          this.onFree(this)
        } else this.retire()
        ex.resolve(reply)
      }
      if (wait) wait.then(finish, (err: Error) => (this.retire(), ex.reject(err)))
      else finish()
      // Keep reading: a kept-alive socket may already carry the next exchange.
      return true
    }
    if (wait) {
      wait.then(
        () => void (this.ex === ex && this.socket.resume()),
        (err: Error) => this.socket.destroy(err),
      )
      return false
    }
    return true
  }

  private onEnd(): void {
    const ex = this.ex
    if (ex?.parsed && ex.framing.kind === 'close') {
      // A body without a length ends when the server closes.
      this.ex = undefined
      this.retire()
      ex.resolve({ head: ex.parsed, filled: ex.filled })
      return
    }
    this.fail(new Error('connection closed by the server'))
  }

  private fail(err: Error): void {
    const ex = this.ex
    this.ex = undefined
    this.dead = true
    if (ex) this.settle(ex, err)
    this.onFree(this)
  }

  private settle(ex: Exchange, err: Error): void {
    if (this.ex === ex) this.ex = undefined
    if (this.served > 0 && !ex.gotBytes && !(err instanceof StallError)) ex.reject(new StaleSocketError(err.message))
    else if (ex.plan) ex.reject(new Error(`${err.message} after ${ex.filled} of ${ex.plan.into.length} bytes`))
    else ex.reject(err)
  }
}

interface Waiting {
  readonly request: PoolRequest
  readonly resolve: (r: PoolReply) => void
  readonly reject: (e: Error) => void
  retried: boolean
}

/** At most `connections` sockets to one http: origin, kept alive between requests. */
export class Http1Pool {
  private readonly origin: URL
  private readonly connections: number
  private readonly keepAliveMs: number
  private readonly all = new Set<Connection>()
  private readonly idle: Connection[] = []
  private readonly queue: Waiting[] = []
  private closed = false

  constructor(origin: URL, connections: number, keepAliveMs: number) {
    if (origin.protocol !== 'http:') throw new Error(`Http1Pool speaks plain http, not ${origin.protocol}`)
    this.origin = origin
    this.connections = connections
    this.keepAliveMs = keepAliveMs
  }

  request(request: PoolRequest): Promise<PoolReply> {
    if (this.closed) return Promise.reject(new Error('pool closed'))
    return new Promise((resolve, reject) => {
      const waiting: Waiting = { request, resolve, reject, retried: false }
      this.queue.push(waiting)
      request.signal?.addEventListener(
        'abort',
        () => {
          const at = this.queue.indexOf(waiting)
          if (at >= 0) {
            this.queue.splice(at, 1)
            reject(new Error(abortMessage(request.signal!)))
          }
        },
        { once: true },
      )
      this.pump()
    })
  }

  /** Ends every connection at once; requests in flight fail. */
  close(): void {
    this.closed = true
    for (const c of this.all) c.retire()
    for (const w of this.queue.splice(0)) w.reject(new Error('pool closed'))
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const conn = this.idle.pop() ?? (this.all.size < this.connections ? this.open() : undefined)
      if (!conn) return
      const w = this.queue.shift()!
      conn.start(w.request, w.resolve, (err) => {
        if (err instanceof StaleSocketError && !w.retried && !this.closed) {
          w.retried = true
          this.queue.unshift(w)
          this.pump()
        } else w.reject(err)
      })
    }
  }

  private open(): Connection {
    const port = Number(this.origin.port) || 80
    const conn = new Connection(this.origin.host, this.origin.hostname.replace(/^\[|\]$/g, ''), port, (c) => this.onFree(c))
    this.all.add(conn)
    return conn
  }

  private onFree(c: Connection): void {
    const parked = this.idle.indexOf(c)
    if (c.dead) {
      this.all.delete(c)
      if (parked >= 0) this.idle.splice(parked, 1)
    } else if (parked < 0) {
      c.park(this.keepAliveMs)
      this.idle.push(c)
    }
    if (!this.closed) this.pump()
  }
}
