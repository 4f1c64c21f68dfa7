import WebTorrent from 'webtorrent'
import { PEER_ENCRYPTION, type PeerEncryption } from './peer-settings.ts'
import { bindListener } from './webtorrent-adapter.ts'

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
  /**
   * BEP 14 local service discovery: announces the infohash by multicast (UDP 6771) out of every
   * interface and dials the peers that answer. Off unless set; `usesLanDiscovery` decides it.
   */
  readonly lsd?: boolean
  /** BitTorrent protocol encryption (MSE/PE); `prefer` when unset. */
  readonly encryption?: PeerEncryption
}

/**
 * A webtorrent client that only goes where Shoal sends it: TCP peers, the release's trackers
 * and, when asked, LAN discovery. DHT, LSD, UPnP and NAT-PMP default to on in webtorrent and
 * send packets to the network, so they stay off unless a policy turns one on; peer exchange
 * would dial addresses other peers hand out, so it stays off too; uTP measured 2.7x slower here.
 */
export function createSwarmClient(o: SwarmClientOptions): WebTorrent {
  const client = new WebTorrent({
    dht: false,
    lsd: o.lsd === true,
    natUpnp: false,
    natPmp: false,
    utp: false,
    utPex: false,
    webSeeds: false,
    torrentPort: o.port,
    uploadLimit: o.limitUp > 0 ? o.limitUp : -1,
    maxConns: o.maxPeers,
    secure: PEER_ENCRYPTION[o.encryption ?? 'prefer'],
    tracker: { getAnnounceOpts: () => (o.trackerToken ? { token: o.trackerToken } : {}) },
  })
  if (o.listenHost !== undefined) bindListener(client, o.listenHost, o.port)
  return client
}
