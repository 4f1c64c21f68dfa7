// Before a job's or a seeder's swarm has a peer: the port peers dial, the release's HTTP
// trackers and, when on, LAN discovery, without webtorrent. webtorrent and the wire take 26 MiB
// of RSS and start-up time that a swarm nobody else is in never uses; the scout calls `found`
// once a peer is known or dials in, and hands the listener, the waiting connections and the
// addresses over.
import { createServer, type Server, type Socket } from 'node:net'
import type LSD from 'bittorrent-lsd'
import { httpRequest } from '../../../net/http-request.ts'
import { announceUrl, decodeTrackerAnswer, type AnnounceFields } from './announce-params.ts'

export interface ScoutOptions {
  /** The swarm's infohash and this client's peer id, hex. */
  readonly infoHash: string
  readonly peerId: string
  /** http: and https: announce URLs (scoutable decides). */
  readonly trackers: readonly string[]
  readonly lsd: boolean
  /** 0 picks a free one. */
  readonly port: number
  readonly listenHost: string | undefined
  /** This machine's addresses: a tracker that hands us back ourselves is no peer. */
  readonly ownAddresses: readonly string[]
  /** Shoal's own announce parameters (announceParams). */
  readonly params: () => Record<string, string | number>
  /** Bytes this client still needs. */
  readonly left: () => number
  /** Most connections held until the swarm takes them. */
  readonly maxPeers: number
  /**
   * A seeder's scout: peers a tracker names wake it only while that tracker counts leechers
   * (other seeders have nothing to ask of it). Peers on the LAN and peers dialling in always do.
   */
  readonly seeding?: boolean
  /** A peer is known or dialled in: time for the swarm. */
  readonly found: () => void
  readonly now: () => number
}

/** What the scout hands the swarm. */
export interface Scouted {
  /** The scout's listening server, still open: a peer dialling while the swarm starts finds the port open. */
  readonly listener: Server
  readonly port: number
  /** Accepted connections nobody has read from yet. */
  readonly incoming: Socket[]
  /** Addresses trackers and LAN discovery gave ("host:port"). */
  readonly peers: string[]
}

/** Closes what a scout handed over, for a swarm that failed to start with it. */
export function dropHandOver(s: Pick<Scouted, 'listener' | 'incoming'>): void {
  s.listener.close()
  for (const conn of s.incoming) conn.destroy()
}

const ANNOUNCE_TIMEOUT_MS = 15_000
/** The `stopped` announce at the end waits this long at most, as webtorrent's tracker client. */
const STOPPED_TIMEOUT_MS = 1_000
/** Re-announce at most this often, whatever a tracker's interval says. */
const MIN_INTERVAL_MS = 30_000

/** Whether a swarm can start with a scout: no peer given to dial, and trackers it can announce to. */
export function scoutable(peers: readonly string[], trackers: readonly string[]): boolean {
  return peers.length === 0 && trackers.every((t) => t.startsWith('http:') || t.startsWith('https:'))
}

export class PeerScout {
  private readonly o: ScoutOptions
  private readonly server: Server
  private readonly incoming: Socket[] = []
  private readonly peers = new Set<string>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly requests = new Set<AbortController>()
  private lsd: LSD | undefined
  private answered = false
  private ended = false
  private handedOver = false
  private boundPort = 0
  /** When a tracker last answered or a peer showed up. */
  lastChange: number

  /** Listens on the peers' port, then announces and starts LAN discovery. */
  static async open(o: ScoutOptions): Promise<PeerScout> {
    const scout = new PeerScout(o)
    await scout.listen()
    scout.start()
    return scout
  }

  private constructor(o: ScoutOptions) {
    this.o = o
    this.lastChange = o.now()
    this.server = createServer((conn) => this.onConnection(conn))
  }

  get port(): number {
    return this.boundPort
  }

  /** Whether some tracker may still answer for the first time. */
  trackersPending(): boolean {
    return !this.answered && !this.ended && this.o.trackers.length > 0
  }

  /** Stops scouting and gives the swarm its listener (nothing announces `stopped`). */
  handOver(): Scouted {
    this.server.removeAllListeners('connection')
    this.handedOver = true
    this.end()
    return { listener: this.server, port: this.boundPort, incoming: this.incoming.splice(0), peers: [...this.peers] }
  }

  /** The job ended with no swarm: tells the trackers, closes everything. */
  async stop(): Promise<void> {
    if (this.ended) return
    this.end()
    for (const conn of this.incoming.splice(0)) conn.destroy()
    await Promise.all(this.o.trackers.map((t) => this.announce(t, 'stopped', STOPPED_TIMEOUT_MS).catch(() => undefined)))
  }

  private end(): void {
    this.ended = true
    if (!this.handedOver) this.server.close()
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    for (const r of this.requests) r.abort()
    this.lsd?.destroy()
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.o.port, this.o.listenHost, () => {
        this.server.removeListener('error', reject)
        const address = this.server.address()
        this.boundPort = typeof address === 'object' && address ? address.port : this.o.port
        resolve()
      })
    })
  }

  private start(): void {
    for (const tracker of this.o.trackers) this.announceNow(tracker, 'started')
    if (this.o.lsd) void this.startLsd()
  }

  private onConnection(conn: Socket): void {
    if (this.ended || this.incoming.length >= this.o.maxPeers) return void conn.destroy()
    this.incoming.push(conn)
    // Kept after the hand-over too: an error before the swarm reads the connection only closes it.
    conn.on('error', () => conn.destroy())
    conn.once('close', () => {
      const at = this.incoming.indexOf(conn)
      if (at >= 0) this.incoming.splice(at, 1)
    })
    this.foundOne()
  }

  /** Keeps the addresses; `wake`: whether peers named now are a reason for the swarm. */
  private addPeers(addresses: readonly string[], wake = true): void {
    const before = this.peers.size
    const own = new Set([...this.o.ownAddresses, ...(this.o.listenHost ? [this.o.listenHost] : [])].map((host) => `${host}:${this.boundPort}`))
    for (const a of addresses) if (!own.has(a)) this.peers.add(a)
    // A seeder that learns of leechers dials them even when it had their addresses already.
    if (wake && (this.peers.size > before || (this.o.seeding === true && this.peers.size > 0))) this.foundOne()
  }

  private foundOne(): void {
    this.lastChange = this.o.now()
    if (!this.ended) this.o.found()
  }

  /** Announces to `tracker` and again at its interval until the scout ends. */
  private announceNow(tracker: string, event: 'started' | undefined): void {
    this.announce(tracker, event, ANNOUNCE_TIMEOUT_MS).then(
      (intervalMs) => {
        if (this.ended) return
        this.answered = true
        this.lastChange = this.o.now()
        this.later(() => this.announceNow(tracker, undefined), Math.max(MIN_INTERVAL_MS, intervalMs))
      },
      // As webtorrent: a tracker that fails is asked again later; the first answer is awaited up to the discovery wait.
      () => this.later(() => this.announceNow(tracker, event), MIN_INTERVAL_MS),
    )
  }

  private later(run: () => void, ms: number): void {
    if (this.ended) return
    const t = setTimeout(() => {
      this.timers.delete(t)
      run()
    }, ms).unref()
    this.timers.add(t)
  }

  /** One announce; resolves to the tracker's interval in ms, and adds the peers it gave. */
  private async announce(tracker: string, event: AnnounceFields['event'], timeoutMs: number): Promise<number> {
    const fields = { infoHash: this.o.infoHash, peerId: this.o.peerId, port: this.boundPort, left: this.o.left(), event }
    const abort = new AbortController()
    this.requests.add(abort)
    try {
      const res = await httpRequest(announceUrl(tracker, fields, this.o.params()), { signal: AbortSignal.any([abort.signal, AbortSignal.timeout(timeoutMs)]) })
      if (res.status !== 200) throw new Error(`tracker ${tracker} answered HTTP ${res.status}`)
      const answer = decodeTrackerAnswer(res.body)
      if ('failure' in answer) throw new Error(`tracker ${tracker}: ${answer.failure}`)
      if (event !== 'stopped') this.addPeers(answer.peers, this.o.seeding !== true || answer.incomplete !== 0)
      return answer.interval * 1000
    } finally {
      this.requests.delete(abort)
    }
  }

  private async startLsd(): Promise<void> {
    const { default: Lsd } = await import('bittorrent-lsd')
    if (this.ended) return
    const lsd = new Lsd({ infoHash: this.o.infoHash, peerId: this.o.peerId, port: this.boundPort })
    this.lsd = lsd
    lsd.on('peer', (address: string, infoHash: string) => {
      if (infoHash === this.o.infoHash) this.addPeers([address])
    })
    // LAN discovery is best effort, as in webtorrent: no multicast route is no error of the job's.
    lsd.on('warning', () => {})
    lsd.on('error', () => {})
    lsd.start()
  }
}
