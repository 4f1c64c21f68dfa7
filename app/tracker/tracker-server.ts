// `shoal tracker`: bittorrent-tracker's server, HTTP only, behind our own HTTP front.
// Announces need the token when one is set (UDP cannot carry one, so UDP is off),
// scrape is gated by the token, the public stats page is off, and peers on the
// requester's subnet are handed out first.
import { timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http'
import { Server, type AnnounceParams, type Swarm, type SwarmPeer } from 'bittorrent-tracker'
import { rankPeers } from './peer-ranking.ts'

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
  const front: HttpServer = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://tracker')
    if (url.pathname === '/announce') return tracker.onHttpRequest(req, res)
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
