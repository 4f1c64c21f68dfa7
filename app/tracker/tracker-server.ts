// `shoal tracker`'s HTTP front: announce, scrape, metrics and offload reports, token-gated.
// It decides nothing about peers itself: the query is parsed (announce-request.ts), the store
// records the peer and returns a sample of its swarm (memory or Redis), matching.ts picks and
// orders the peers, announce-response.ts encodes them. HTTP only: UDP cannot carry a token.
import { timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http'
import * as v from 'valibot'
import { announceFront } from './announce-front.ts'
import { parseAnnounce, parseQuery } from './announce-request.ts'
import { encodeAnswer, encodeFailure, encodeScrape } from './announce-response.ts'
import { matchPeers } from './matching.ts'
import { MemoryStore } from './memory-store.ts'
import { offloadReportSchema, renderMetrics, type OffloadReport } from './tracker-metrics.ts'
import { DEFAULT_INTERVAL_MS, DEFAULT_MAX_SWARMS, storeLimits, type TrackerStore } from './tracker-store.ts'
import { admissionService, type AdmissionServiceOptions } from './admission-service.ts'

export interface TrackerOptions {
  readonly port: number
  readonly host: string
  /** When set, announces and scrapes must carry `token=<this>`. */
  readonly token: string | undefined
  /** How often clients are told to announce; the store's limits must use the same. */
  readonly intervalMs?: number
  /** Where swarms live; a MemoryStore with the default limits when unset. */
  readonly store?: TrackerStore
  /** Issues peer passes and serves revocations (admission-service.ts); the token is its enrollment credential. */
  readonly admission?: Omit<AdmissionServiceOptions, 'enrolled' | 'now'>
}

export interface RunningTracker {
  readonly announceUrl: string
  close(): Promise<void>
}

/**
 * Candidates the store samples per announce: enough beyond `numwant` for the matching to choose,
 * and bounded, so a large swarm costs no more per announce than a swarm of 200.
 */
export const sampleSize = (numwant: number) => Math.min(Math.max(2 * numwant, 100), 200)

function tokenMatches(expected: string | undefined, given: unknown): boolean {
  if (expected === undefined) return true
  if (typeof given !== 'string') return false
  const a = Buffer.from(expected)
  const b = Buffer.from(given)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** `Authorization: Bearer T` for scrapers, or `?token=T`. */
function bearerOrQuery(req: IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization
  return auth?.startsWith('Bearer ') ? auth.slice(7) : (url.searchParams.get('token') ?? undefined)
}

const MAX_REPORT_BYTES = 4096
const KEEP_ALIVE_MS = 65_000

function readReport(req: IncomingMessage, done: (report: OffloadReport | undefined) => void): void {
  let body = ''
  req.setEncoding('utf8')
  req.on('data', (d: string) => {
    body += d
    if (body.length > MAX_REPORT_BYTES) req.destroy()
  })
  req.on('end', () => {
    try {
      const parsed = v.safeParse(offloadReportSchema, JSON.parse(body))
      done(parsed.success ? parsed.output : undefined)
    } catch {
      done(undefined)
    }
  })
}

function refuse(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' }).end(text)
}

/** Trackers answer failures with 200 and a bencoded reason: that is what clients show. */
const bencoded = (res: ServerResponse, body: Buffer) => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length }).end(body)

const storeFailure = (err: unknown) => (err instanceof Error ? err.message : String(err))

export async function startTracker(o: TrackerOptions): Promise<RunningTracker> {
  const intervalMs = o.intervalMs ?? DEFAULT_INTERVAL_MS
  const store = o.store ?? new MemoryStore(storeLimits(intervalMs, DEFAULT_MAX_SWARMS))
  const intervalSeconds = Math.round(intervalMs / 1000)

  /** The bencoded answer to an announce; never rejects (a store failure is the failure reason). */
  async function announce(query: string, remoteAddress: string): Promise<Buffer> {
    const parsed = parseAnnounce(query, remoteAddress)
    if (!parsed.ok) return encodeFailure(parsed.reason)
    const a = parsed.request
    if (!tokenMatches(o.token, a.token)) return encodeFailure('bad token')
    try {
      const answer = await store.announce(a.infoHash, a.peer, a.event === 'stopped', sampleSize(a.numwant), Date.now())
      if (!answer.ok) return encodeFailure(answer.reason)
      const peers = matchPeers(a.peer, answer.swarm.candidates, a.numwant, Math.random)
      return encodeAnswer({ intervalSeconds, complete: answer.swarm.complete, incomplete: answer.swarm.incomplete, peers, compact: a.compact })
    } catch (err) {
      return encodeFailure(storeFailure(err))
    }
  }

  async function scrape(res: ServerResponse, query: string): Promise<void> {
    const hashes: string[] = []
    for (const part of query.split('&')) {
      if (!part.startsWith('info_hash=')) continue
      const h = parseQuery(part).get('info_hash')
      if (h?.length === 20 && hashes.length < 100) hashes.push(h.toString('hex'))
    }
    bencoded(res, encodeScrape(await store.scrape(hashes, Date.now())))
  }

  // With no token, enrollment is open: anyone who reaches the service gets a pass (README, "Peer admission").
  const admission = o.admission && admissionService({ ...o.admission, enrolled: (req, url) => tokenMatches(o.token, bearerOrQuery(req, url)), now: () => Date.now() })
  const http: HttpServer = createServer((req: IncomingMessage, res: ServerResponse) => {
    const raw = req.url ?? '/'
    const q = raw.indexOf('?')
    const pathname = q < 0 ? raw : raw.slice(0, q)
    const query = q < 0 ? '' : raw.slice(q + 1)
    const failed = (err: unknown) => {
      if (pathname === '/announce' || pathname === '/scrape') bencoded(res, encodeFailure(storeFailure(err)))
      else refuse(res, 503, storeFailure(err))
    }
    // Announces on a connection node:http took over (after another request), without a URL object.
    if (pathname === '/announce') return void announce(query, req.socket.remoteAddress ?? '').then((body) => bencoded(res, body))
    const url = new URL(raw, 'http://tracker')
    if (admission?.handle(req, res, url)) return
    if (pathname === '/metrics') {
      // Swarm sizes are for the operator only, like scrape: the token or nothing.
      if (o.token === undefined || !tokenMatches(o.token, bearerOrQuery(req, url))) return refuse(res, 403, 'metrics need the tracker token')
      return void store
        .snapshot(Date.now())
        .then((s) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderMetrics(s) + (admission?.metrics() ?? '')))
        .catch(failed)
    }
    if (pathname === '/report' && req.method === 'POST') {
      if (!tokenMatches(o.token, url.searchParams.get('token') ?? undefined)) return refuse(res, 403, 'reports need the tracker token')
      return readReport(req, (report) => {
        if (!report) return refuse(res, 400, 'expected {"infoHash","cdn","lan","wan"}')
        store.report(report, Date.now()).then(() => res.writeHead(204).end(), failed)
      })
    }
    if (pathname === '/scrape') {
      // Scrape lists swarm sizes: only for holders of the token, and off when there is none.
      if (o.token === undefined || !tokenMatches(o.token, url.searchParams.get('token'))) return refuse(res, 403, 'scrape needs the tracker token')
      return void scrape(res, query).catch(failed)
    }
    refuse(res, 404, 'not found')
  })
  // Many clients keep their connection; a keep-alive shorter than theirs only costs handshakes.
  http.keepAliveTimeout = KEEP_ALIVE_MS
  const front = announceFront(http, announce, KEEP_ALIVE_MS)
  // node:http starts its request timeouts on 'listening'; the front listens for it.
  front.server.once('listening', () => http.emit('listening'))
  await new Promise<void>((resolve, reject) => {
    front.server.once('error', reject)
    front.server.listen(o.port, o.host, resolve)
  })
  const { port } = front.server.address() as { port: number }
  const host = o.host.includes(':') ? `[${o.host}]` : o.host
  return {
    announceUrl: `http://${host}:${port}/announce`,
    close: async () => {
      front.closeAll()
      http.closeAllConnections()
      http.close()
      await new Promise<void>((resolve) => front.server.close(() => resolve()))
      await store.close()
    },
  }
}
