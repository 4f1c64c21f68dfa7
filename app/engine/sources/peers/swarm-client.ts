import type { Server } from 'node:net'
import WebTorrent from 'webtorrent'
import { PEER_ENCRYPTION, type PeerEncryption } from './peer-settings.ts'
import type { Wire } from 'webtorrent'
import { announceParams, newPeerId, PEER_ID_PREFIX_HEX, provesReach } from './announce-params.ts'
import { adoptListener, bindListener, directPeerPipes, onIncomingConnection } from './webtorrent-adapter.ts'

/**
 * Whether the wire's peer is Shoal (webtorrent), which serves requests of up to 128 KiB: between
 * Shoal peers a block request carries 8 blocks, an eighth of the messages. Stock clients get
 * BitTorrent's 16 KiB.
 */
export function isShoalPeer(wire: Wire): boolean {
  return wire.peerId?.startsWith(PEER_ID_PREFIX_HEX) === true
}

export interface SwarmClientOptions {
  /** This client's peer id (hex): the one its scout announced; a fresh one when unset. */
  readonly peerId?: string | undefined
  /** TCP port for peers; 0 picks a free one. */
  readonly port: number
  /** A server listening for peers already (the scout's): the client takes it instead of opening its own. */
  readonly listener?: Server | undefined
  /** Sent with every announce when the tracker wants one: callers put it in the tracker URLs (tokenedTrackers). */
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
  /** Site or group id sent to Shoal's tracker, which hands out peers of the same site first. */
  readonly site?: string | undefined
}

/**
 * A webtorrent client that only goes where Shoal sends it: TCP peers, the release's trackers
 * and, when asked, LAN discovery. DHT, LSD, UPnP and NAT-PMP default to on in webtorrent and
 * send packets to the network, so they stay off unless a policy turns one on; peer exchange
 * would dial addresses other peers hand out, so it stays off too; uTP measured 2.7x slower here.
 */
export function createSwarmClient(o: SwarmClientOptions): WebTorrent {
  let reachable = false
  directPeerPipes()
  const client = new WebTorrent({
    peerId: o.peerId ?? newPeerId(),
    dht: false,
    lsd: o.lsd === true,
    natUpnp: false,
    natPmp: false,
    utp: false,
    utPex: false,
    webSeeds: false,
    // An adopted listener keeps its port; the client's own server takes any free one until then.
    torrentPort: o.listener ? 0 : o.port,
    uploadLimit: o.limitUp > 0 ? o.limitUp : -1,
    maxConns: o.maxPeers,
    secure: PEER_ENCRYPTION[o.encryption ?? 'prefer'],
    tracker: { getAnnounceOpts: () => announceParams(o, client.uploadSpeed, reachable) },
  })
  if (o.listener) adoptListener(client, o.listener)
  else if (o.listenHost !== undefined) bindListener(client, o.listenHost, o.port)
  onIncomingConnection(client, (remote) => (reachable ||= provesReach(o.listenHost, remote)))
  return client
}
