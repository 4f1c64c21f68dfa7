// Fetches byte ranges of the CDN chunk stores from one or more mirrors. Redirects are followed
// within a bound; every response is checked (206 + matching Content-Range, or a usable 200), truncation,
// resets, stalls, 5xx and 429 are retried with backoff, and each mirror keeps its
// own health: one whose bytes fail verification is demoted, then dropped.
import { open } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { Pool } from 'undici'
import { ShoalError } from '../../../../shared/errors.ts'
import { followRedirect, isRedirect } from '../../../release/redirect-rule.ts'
import { createBucket, reserve, type TokenBucket } from '../../../policy/token-bucket.ts'
import { describeMirror, newMirror, penalize, pickMirror, usable, type Mirror } from './mirror-health.ts'
import { abortMessage, Http1Pool, type BodyPlan } from './http1-pool.ts'
import type { ResponseHead } from './http1-head.ts'
import { backoffMs, DEFAULT_RETRY, retryAfterMs, type RetryPolicy } from './retry-policy.ts'
import { DEFAULT_TRICKLE, judgeWindow, nextMirrorRate, type TrickleRule } from './trickle-rule.ts'

export interface CdnSourceOptions {
  /** Product root URLs, best first. */
  readonly mirrors: readonly URL[]
  /** Parallel connections per mirror. */
  readonly connections: number
  /** No body bytes for this long counts as a stall and is retried; also the window over which a trickle is judged. */
  readonly stallMs: number
  /** When a request that trickles is cut and the range fetched elsewhere (DEFAULT_TRICKLE). */
  readonly trickle?: TrickleRule
  /** Download cap in bytes per second; 0 is unlimited. */
  readonly limitDown: number
  readonly retry?: RetryPolicy
  readonly now?: () => number
  readonly random?: () => number
  /** Every byte received, overfetch and failed attempts included. */
  readonly onBytes?: (bytes: number) => void
  /** A bucket shared with the caller, whose rate may change while ranges are in flight (replaces `limitDown`). */
  readonly bucket?: TokenBucket
  /** Aborting stops every request in flight at once and fails the fetch without retries. */
  readonly signal?: AbortSignal
  /** One sample per HTTP range answered: time to the response headers and how the body went, for delay-based control. */
  readonly onSample?: (sample: FetchSample) => void
}

export interface FetchSample {
  /** Request sent to headers received: the round trip plus any queue on the way. */
  readonly headersMs: number
  readonly bytes: number
  readonly bodyMs: number
}

export interface FetchedRange {
  readonly bytes: Buffer
  readonly mirror: Mirror
}

/** How far a range got, updated as it arrives: an interrupted caller can still use the complete prefix. */
export interface RangeProgress {
  bytes: Buffer | undefined
  /** Bytes from the start of `bytes` that have arrived. */
  filled: number
  mirror: Mirror | undefined
}

/** A redirect's body is read into this and dropped, so that its connection stays reusable. */
const REDIRECT_BODY = Buffer.alloc(4096)
const KEEP_ALIVE_MS = 30_000

/** An error worth another attempt (maybe on another mirror), with what the server asked for. */
class AttemptError extends Error {
  readonly retryAfter: number | undefined
  /** The mirror itself misbehaved (not just a transient network problem). */
  readonly blame: boolean
  constructor(message: string, blame: boolean, retryAfter?: number) {
    super(message)
    this.blame = blame
    this.retryAfter = retryAfter
  }
}

export class CdnSource {
  readonly mirrors: Mirror[]
  /** undici pools, for https: origins. */
  private readonly pools = new Map<string, Pool>()
  private readonly http1 = new Map<string, Http1Pool>()
  private readonly etags = new Map<string, string>()
  private readonly bucket: TokenBucket
  private readonly o: CdnSourceOptions
  private readonly now: () => number
  private next = 0

  constructor(o: CdnSourceOptions) {
    if (o.mirrors.length === 0) throw new ShoalError('E_USAGE', 'no CDN mirror to fetch from')
    this.o = o
    this.now = o.now ?? Date.now
    this.mirrors = o.mirrors.map(newMirror)
    this.bucket = o.bucket ?? createBucket(o.limitDown, this.now())
    o.signal?.addEventListener('abort', () => this.http1.forEach((pool) => pool.close()), { once: true })
  }

  /** Marks bytes from `mirror` as failing verification: demote now, drop after repeated failures. */
  penalize(mirror: Mirror, problem: string): void {
    penalize(mirror, problem)
  }

  /**
   * Exactly the bytes [start, end) of a store, from the healthiest mirror that delivers them.
   * `into` is a spent buffer to fill again when it is large enough, so memory stays bounded.
   */
  async fetchRange(path: string, start: number, end: number, avoid?: Mirror, into?: ArrayBuffer, progress?: RangeProgress): Promise<FetchedRange> {
    const out = into && into.byteLength >= end - start ? Buffer.from(into, 0, end - start) : Buffer.from(new ArrayBuffer(end - start))
    let mirror: Mirror | undefined
    if (progress) progress.bytes = out
    for (let at = 0; at < out.length; ) {
      // Under a cap, a range is asked for in steps whose tokens are taken before each request:
      // what the server may send is then bounded on the wire, not only in what Shoal reads,
      // since socket buffers along the path would otherwise soak up megabytes at full speed.
      const step = this.paceStep()
      const part = out.subarray(at, step > 0 ? Math.min(out.length, at + step) : out.length)
      if (step > 0) await this.pace(part.length)
      mirror = await this.fetchInto(path, start + at, part, avoid, step > 0)
      at += part.length
      if (progress) Object.assign(progress, { filled: at, mirror })
    }
    return { bytes: out, mirror: mirror ?? this.mirrors[0]! }
  }

  /** Fills `out` with the store's bytes from `start`, retrying across mirrors; returns the mirror that delivered. */
  private async fetchInto(path: string, start: number, out: Buffer, avoid: Mirror | undefined, paced: boolean): Promise<Mirror> {
    const policy = this.o.retry ?? DEFAULT_RETRY
    let last: AttemptError | undefined
    for (let attempt = 0; attempt < policy.attempts; attempt++) {
      this.o.signal?.throwIfAborted()
      const mirror = pickMirror(this.mirrors, avoid, this.next++)
      if (!mirror) break
      try {
        await this.attempt(mirror, path, start, out, paced)
        return mirror
      } catch (err) {
        this.o.signal?.throwIfAborted()
        last = err instanceof AttemptError ? err : new AttemptError((err as Error).message, false)
        if (last.blame) this.penalize(mirror, last.message)
        else mirror.lastProblem = last.message
        if (attempt + 1 < policy.attempts) await sleep(backoffMs(policy, attempt, (this.o.random ?? Math.random)(), last.retryAfter), undefined, { signal: this.o.signal })
      }
    }
    throw this.noSourceError(path, start, start + out.length, last)
  }

  /**
   * Request size under a cap: 1/32 s worth (16 KiB to 2 MiB); 0 when unlimited. Small steps keep
   * what this source has in flight (the queue it builds itself) well under background mode's
   * delay target, and give its controller a sample every few tens of ms.
   */
  private paceStep(): number {
    const rate = this.bucket.rate
    return rate > 0 ? Math.max(16 * 1024, Math.min(2 * 1024 * 1024, Math.floor(rate / 32))) : 0
  }

  private async pace(bytes: number): Promise<void> {
    const wait = reserve(this.bucket, bytes, this.now())
    if (wait > 0) await sleep(wait, undefined, { signal: this.o.signal })
  }

  /** Ends every connection at once, in-flight requests included. */
  async close(): Promise<void> {
    for (const pool of this.http1.values()) pool.close()
    await Promise.all([...this.pools.values()].map((p) => p.destroy()))
  }

  /** Counts `bytes` received; unless the request was paced already, the promise says when the caller may go on under the cap. */
  private throttle(bytes: number, paced: boolean): Promise<void> | undefined {
    this.o.onBytes?.(bytes)
    if (paced) return undefined
    const wait = reserve(this.bucket, bytes, this.now())
    return wait > 0 ? sleep(wait, undefined, { signal: this.o.signal }) : undefined
  }

  private async poolFor(url: URL): Promise<Pool> {
    const known = this.pools.get(url.origin)
    if (known) return known
    // undici (over 100 modules) loads only for an https: mirror: plain http goes through Http1Pool.
    const { Pool } = await import('undici')
    let pool = this.pools.get(url.origin)
    if (!pool) {
      pool = new Pool(url.origin, { connections: this.o.connections, keepAliveTimeout: KEEP_ALIVE_MS })
      this.pools.set(url.origin, pool)
    }
    return pool
  }

  private http1For(url: URL): Http1Pool {
    let pool = this.http1.get(url.origin)
    if (!pool) {
      pool = new Http1Pool(new URL(url.origin), this.o.connections, KEEP_ALIVE_MS)
      this.http1.set(url.origin, pool)
    }
    return pool
  }

  private async attempt(mirror: Mirror, path: string, start: number, out: Buffer, paced: boolean): Promise<Buffer> {
    const end = start + out.length
    const url = new URL(path, mirror.base)
    if (url.protocol === 'file:') return this.readLocal(url, start, out, paced)
    const etag = this.etags.get(url.href)
    const headers: Record<string, string> = { range: `bytes=${start}-${end - 1}` }
    if (etag) headers['if-range'] = etag
    // A request that trickles is cut, blamed on the mirror, and fetched elsewhere.
    const cut = new AbortController()
    const watch = this.watchTrickle(mirror, cut)
    const counted = (n: number) => {
      watch.count(n)
      return this.throttle(n, paced)
    }
    const signal = this.o.signal ? AbortSignal.any([this.o.signal, cut.signal]) : cut.signal
    const began = performance.now()
    try {
      await this.request(mirror, url, start, out, headers, counted, signal)
    } catch (err) {
      if (cut.signal.aborted && !this.o.signal?.aborted) throw new AttemptError(`${url.href} ${abortMessage(cut.signal)}`, true)
      throw err
    } finally {
      watch.stop()
    }
    mirror.rate = nextMirrorRate(mirror.rate, out.length, performance.now() - began)
    return out
  }

  /**
   * From the body's first byte, judges every `stallMs` the bytes that arrived in that window
   * (trickle-rule.ts), and aborts `cut` when the request trickles. Returns the byte counter to
   * call as bytes arrive, and the stop for when the request ends.
   */
  private watchTrickle(mirror: Mirror, cut: AbortController): { count: (n: number) => void; stop: () => void } {
    const rule = this.o.trickle ?? DEFAULT_TRICKLE
    let got = 0
    let judged = 0
    let slow = 0
    let watch: NodeJS.Timeout | undefined
    const judge = () => {
      const others = this.mirrors.filter((m) => m !== mirror && usable(m) && m.rate !== undefined).map((m) => m.rate!)
      const verdict = judgeWindow(slow, got - judged, this.o.stallMs, others.length > 0 ? Math.max(...others) : undefined, rule)
      judged = got
      slow = verdict.slow
      if (verdict.cut) cut.abort(new Error(verdict.cut))
    }
    return {
      count: (n) => {
        got += n
        if (watch) return
        watch = setInterval(judge, this.o.stallMs)
        watch.unref()
      },
      stop: () => clearInterval(watch),
    }
  }

  /**
   * One range request, following redirects (a CDN sending clients to an edge host) with the same
   * Range and If-Range; the edge's answer passes the same checks, and ETags stay keyed by the mirror's URL.
   */
  private async request(mirror: Mirror, url: URL, start: number, out: Buffer, headers: Record<string, string>, onBytes: (n: number) => Promise<void> | undefined, signal: AbortSignal): Promise<void> {
    let at = url
    for (let hops = 0; ; hops++) {
      const sent = performance.now()
      let headersMs: number | undefined
      let location: string | undefined
      let redirected = false
      const plan = (head: ResponseHead): BodyPlan => {
        if (isRedirect(head.status)) {
          redirected = true
          location = head.header('location')
          return { skip: 0, into: REDIRECT_BODY }
        }
        const body = this.check(head, mirror, url, start, out)
        if (head.status === 206) headersMs = performance.now() - sent
        return body
      }
      let filled: number
      try {
        filled =
          at.protocol === 'http:'
            ? (await this.http1For(at).request({ path: at.pathname + at.search, headers, idleMs: this.o.stallMs, plan, onBytes, signal })).filled
            : await this.viaUndici(at, headers, plan, onBytes, signal)
      } catch (err) {
        if (err instanceof AttemptError) throw err
        throw new AttemptError(`${at.href}: ${(err as Error).message}`, false)
      }
      if (redirected) {
        const next = followRedirect(at, location, hops)
        if (!next.ok) throw new AttemptError(`${url.href} answered with ${next.problem}`, true)
        at = next.url
        continue
      }
      if (filled < out.length) throw new AttemptError(`${at.href} ended after ${filled} of ${out.length} bytes`, false)
      if (headersMs !== undefined) this.o.onSample?.({ headersMs, bytes: out.length, bodyMs: performance.now() - sent - headersMs })
      return
    }
  }

  /** The checks every answer passes before its body is used; throws what is wrong with it. */
  private check(head: ResponseHead, mirror: Mirror, url: URL, start: number, out: Buffer): BodyPlan {
    const end = start + out.length
    const status = head.status
    if (status === 429 || status >= 500) throw new AttemptError(`${url.href} answered HTTP ${status}`, false, retryAfterMs(head.header('retry-after'), this.now()))
    // A replaced object is not the mirror's fault: retry against the new version (chunk hashes still decide).
    const newEtag = head.header('etag')
    const known = this.etags.get(url.href)
    if (newEtag) this.etags.set(url.href, newEtag)
    if (known && newEtag && newEtag !== known) throw new AttemptError(`${url.href} changed during the download (ETag ${known} became ${newEtag})`, false)
    if (status === 206) {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(head.header('content-range') ?? '')
      if (!range || Number(range[1]) !== start || Number(range[2]) !== end - 1) {
        throw new AttemptError(`${url.href} sent Content-Range "${head.header('content-range') ?? ''}" for bytes ${start}-${end - 1}`, true)
      }
      return { skip: 0, into: out }
    }
    if (status === 200) {
      // The server ignored Range: take our bytes out of the full body, and prefer other mirrors from now on.
      mirror.ignoresRanges = true
      return { skip: start, into: out }
    }
    throw new AttemptError(`${url.href} answered HTTP ${status}`, true)
  }

  /** HTTPS through undici; returns the bytes of the plan's buffer filled. */
  private async viaUndici(url: URL, headers: Record<string, string>, plan: (head: ResponseHead) => BodyPlan, onBytes: (n: number) => Promise<void> | undefined, signal: AbortSignal): Promise<number> {
    const res = await (await this.poolFor(url)).request({ path: url.pathname + url.search, method: 'GET', headers, headersTimeout: this.o.stallMs, bodyTimeout: this.o.stallMs, signal })
    let body: BodyPlan
    try {
      body = plan({ status: res.statusCode, header: (name) => [res.headers[name]].flat()[0] })
    } catch (err) {
      res.body.destroy()
      throw err
    }
    return this.readBody(res.body, body, onBytes)
  }

  /** Fills the plan's buffer with the body's bytes after skipping some; stops the transfer as soon as it has them. */
  private async readBody(body: AsyncIterable<Buffer> & { destroy(): void }, { skip, into }: BodyPlan, onBytes: (n: number) => Promise<void> | undefined): Promise<number> {
    const length = into.length
    let seen = 0
    let filled = 0
    try {
      for await (const part of body) {
        await onBytes(part.length)
        const from = Math.max(0, skip - seen)
        const take = Math.min(part.length - from, length - filled)
        if (take > 0) {
          part.copy(into, filled, from, from + take)
          filled += take
        }
        seen += part.length
        if (filled === length && skip + length <= seen) {
          if (skip > 0 || seen > length) body.destroy()
          break
        }
      }
    } catch (err) {
      throw new Error(`${(err as Error).message} after ${filled} of ${length} bytes`, { cause: err })
    }
    return filled
  }

  /** A local folder as a mirror (a CDN root on disk or a network share). */
  private async readLocal(url: URL, start: number, out: Buffer, paced: boolean): Promise<Buffer> {
    const end = start + out.length
    const handle = await open(fileURLToPath(url), 'r').catch((err: NodeJS.ErrnoException) => {
      throw new AttemptError(`${url.href}: ${err.code ?? err.message}`, true)
    })
    try {
      const { bytesRead } = await handle.read(out, 0, out.length, start)
      await this.throttle(bytesRead, paced)
      if (bytesRead !== out.length) throw new AttemptError(`${url.href} ends before byte ${end - 1}`, true)
      return out
    } finally {
      await handle.close()
    }
  }

  private noSourceError(path: string, start: number, end: number, last: AttemptError | undefined): ShoalError {
    const states = this.mirrors.map(describeMirror)
    return new ShoalError('E_FETCH', `no CDN mirror delivered ${path} bytes ${start}-${end - 1}; last problem: ${last?.message ?? 'every mirror was dropped'}; mirrors: ${states.join('; ')}`, 'check the mirrors, or retry later: verified chunks are kept')
  }
}
