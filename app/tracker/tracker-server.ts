// `shoal tracker`: bittorrent-tracker's server, HTTP only, behind our own HTTP front.
// Announces need the token when one is set (UDP cannot carry one, so UDP is off),
// scrape is gated by the token, the public stats page is off, and peers on the
// requester's subnet are handed out first.
import { timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http'
import { Server, type AnnounceParams, type Swarm, type SwarmPeer } from 'bittorrent-tracker'
import { rankPeers } from './peer-ranking.ts'
import { admissionService, type AdmissionServiceOptions } from './admission-service.ts'
import { offloadReportSchema, TrackerMetrics, type OffloadReport } from './tracker-metrics.ts'

/** Peers nearest the requester first; bittorrent-tracker's own swarm picks at random. */
class NearestFirstSwarm extends Server.Swarm {
  private requester = ''

  override announce(params: AnnounceParams, cb: (err: Error | null, response?: unknown) => void): void {
    this.requester = params.ip
    super.announce(params, cb)
  }

  override _getPeers(numwant: number, ownPeerId: string, isWebRTC: boolean): SwarmPeer[] {
    const candidates = this.peers.keys
      .map((key) => this.peers.peek(key))
      // Unlike bittorrent-tracker's swarm, never hand a TCP peer its own address either.
      .filter((p): p is SwarmPeer => p !== undefined && p.peerId !== ownPeerId && (isWebRTC ? p.type === 'ws' : p.type !== 'ws'))
    return rankPeers(this.requester, candidates, numwant, Math.random)
  }
}

class ShoalTracker extends Server {
  override createSwarm(infoHash: string, cb: (err: Error | null, swarm: Swarm) => void): void {
    process.nextTick(() => {
      const swarm = (this.torrents[infoHash] = new NearestFirstSwarm(infoHash, this))
      cb(null, swarm)
    })
  }
}

export interface TrackerOptions {
  readonly port: number
  readonly host: string
  /** When set, announces and scrapes must carry `token=<this>`. */
  readonly token: string | undefined
  /** Issues peer passes and serves revocations (admission-service.ts); the token is its enrollment credential. */
  readonly admission?: Omit<AdmissionServiceOptions, 'enrolled' | 'now'>
}

export interface RunningTracker {
  readonly announceUrl: string
  close(): Promise<void>
}

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

function readReport(req: IncomingMessage, done: (report: OffloadReport | undefined) => void): void {
  let body = ''
  req.setEncoding('utf8')
  req.on('data', (d: string) => {
    body += d
    if (body.length > MAX_REPORT_BYTES) req.destroy()
  })
  req.on('end', () => {
    try {
      const parsed = offloadReportSchema.safeParse(JSON.parse(body))
      done(parsed.success ? parsed.data : undefined)
    } catch {
      done(undefined)
    }
  })
}

function refuse(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' }).end(text)
}

export async function startTracker(o: TrackerOptions): Promise<RunningTracker> {
  const tracker = new ShoalTracker({
    http: false,
    udp: false,
    ws: false,
    stats: false,
    filter: (_infoHash, params, cb) => cb(tokenMatches(o.token, params['token']) ? null : new Error('bad token')),
  })
  // The tracker's own errors (a malformed announce) are answered to that client; keep serving the rest.
  tracker.on('warning', () => undefined)
  tracker.on('error', () => undefined)
  const metrics = new TrackerMetrics()
  tracker.on('start', () => metrics.announced(Date.now()))
  tracker.on('update', () => metrics.announced(Date.now()))
  tracker.on('complete', () => metrics.announced(Date.now()))
  tracker.on('stop', () => metrics.announced(Date.now()))
  tracker.on('pause', () => metrics.announced(Date.now()))
  // With no token, enrollment is open: anyone who reaches the service gets a pass (README, "Peer admission").
  const admission = o.admission && admissionService({ ...o.admission, enrolled: (req, url) => tokenMatches(o.token, bearerOrQuery(req, url)), now: () => Date.now() })
  const front: HttpServer = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://tracker')
    if (url.pathname === '/announce') return tracker.onHttpRequest(req, res)
    if (admission?.handle(req, res, url)) return
    if (url.pathname === '/metrics') {
      // Swarm sizes are for the operator only, like scrape: the token or nothing.
      if (o.token === undefined || !tokenMatches(o.token, bearerOrQuery(req, url))) return refuse(res, 403, 'metrics need the tracker token')
      const swarms = Object.entries(tracker.torrents).map(([infoHash, swarm]) => ({ infoHash, seeders: swarm.complete, leechers: swarm.incomplete }))
      return res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render(swarms, Date.now()) + (admission?.metrics() ?? ''))
    }
    if (url.pathname === '/report' && req.method === 'POST') {
      if (!tokenMatches(o.token, url.searchParams.get('token') ?? undefined)) return refuse(res, 403, 'reports need the tracker token')
      return readReport(req, (report) => {
        if (!report) return refuse(res, 400, 'expected {"infoHash","cdn","lan","wan"}')
        metrics.reported(report)
        res.writeHead(204).end()
      })
    }
    if (url.pathname === '/scrape') {
      // Scrape lists swarm sizes: only for holders of the token, and off when there is none.
      if (o.token === undefined || !tokenMatches(o.token, url.searchParams.get('token'))) return refuse(res, 403, 'scrape needs the tracker token')
      return tracker.onHttpRequest(req, res)
    }
    refuse(res, 404, 'not found')
  })
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject)
    front.listen(o.port, o.host, resolve)
  })
  const { port } = front.address() as { port: number }
  const host = o.host.includes(':') ? `[${o.host}]` : o.host
  return {
    announceUrl: `http://${host}:${port}/announce`,
    close: () =>
      new Promise((resolve) => {
        tracker.close()
        front.closeAllConnections()
        front.close(() => resolve())
      }),
  }
}
