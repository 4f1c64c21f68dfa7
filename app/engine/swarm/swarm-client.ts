import type { Server } from 'node:net'
import WebTorrent from 'webtorrent'

export interface SwarmClientOptions {
  /** TCP port for peers; 0 picks a free one. */
  readonly port: number
  /** Sent with every announce when the tracker wants one. */
  readonly trackerToken: string | undefined
  /** Upload cap in bytes per second; 0 is unlimited. */
  readonly limitUp: number
  /** Most peer connections at once, incoming included (see wire-guard.ts). */
  readonly maxPeers: number
  /** The address peers connect to; undefined listens on every interface. */
  readonly listenHost?: string | undefined
}

/** webtorrent's own default connection count. */
export const DEFAULT_MAX_PEERS = 55

/**
 * A webtorrent client that only goes where Shoal sends it: TCP peers and the release's
 * trackers. DHT, LSD, UPnP and NAT-PMP default to on in webtorrent and send packets to
 * the network, so they stay off unless a policy turns one on; uTP measured 2.7x slower here.
 */
export function createSwarmClient(o: SwarmClientOptions): WebTorrent {
  const client = new WebTorrent({
    dht: false,
    lsd: false,
    natUpnp: false,
    natPmp: false,
    utp: false,
    webSeeds: false,
    torrentPort: o.port,
    uploadLimit: o.limitUp > 0 ? o.limitUp : -1,
    maxConns: o.maxPeers,
    tracker: { getAnnounceOpts: () => (o.trackerToken ? { token: o.trackerToken } : {}) },
  })
  if (o.listenHost !== undefined) bindListener(client, o.listenHost, o.port)
  return client
}

/**
 * webtorrent listens on every interface and has no option for an address (webtorrent#2158).
 * Its TCP server binds synchronously in the constructor, so it is re-bound at once to the
 * configured address, before any peer could have connected.
 */
function bindListener(client: WebTorrent, host: string, port: number): void {
  const server = (client as unknown as { _connPool?: { tcpServer: Server } })._connPool?.tcpServer
  if (!server) throw new Error('webtorrent has no TCP listener to bind')
  server.close()
  server.listen(port, host)
}
