import WebTorrent from 'webtorrent'
import { PEER_ENCRYPTION, type PeerEncryption } from './peer-settings.ts'
import { randomBytes } from 'node:crypto'
import type { Wire } from 'webtorrent'
import { bindListener, directPeerPipes, onIncomingConnection } from './webtorrent-adapter.ts'

/** Azureus-style client prefix of Shoal's peer ids ("SL", version 0.1.0.0): other clients see who we are. */
const PEER_ID_PREFIX = '-SL0100-'
const PEER_ID_PREFIX_HEX = Buffer.from(PEER_ID_PREFIX).toString('hex')

/**
 * Whether the wire's peer is Shoal (webtorrent), which serves requests of up to 128 KiB: between
 * Shoal peers a block request carries 8 blocks, an eighth of the messages. Stock clients get
 * BitTorrent's 16 KiB.
 */
export function isShoalPeer(wire: Wire): boolean {
  return wire.peerId?.startsWith(PEER_ID_PREFIX_HEX) === true
}

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
  /** Site or group id sent to Shoal's tracker, which hands out peers of the same site first. */
  readonly site?: string | undefined
}

/**
 * What every announce carries besides BitTorrent's own fields: the tracker token, and the
 * capabilities Shoal's tracker matches on (stock trackers ignore them). Spare upload is told
 * only under a cap: without one it is unknown, and 0 would mean "at my cap, skip me".
 * Reachability is told only once proven (`reach=1`): a client that has not been dialled yet
 * may still be reachable, so it says nothing rather than `reach=0`.
 */
export function announceParams(o: Pick<SwarmClientOptions, 'trackerToken' | 'limitUp' | 'site'>, uploadSpeed: number, reachable = false): Record<string, string | number> {
  const params: Record<string, string | number> = {}
  if (o.trackerToken) params['token'] = o.trackerToken
  if (o.site !== undefined) params['site'] = o.site
  if (o.limitUp > 0) {
    params['up'] = o.limitUp
    params['spare'] = Math.max(0, Math.round(o.limitUp - uploadSpeed))
  }
  if (reachable) params['reach'] = 1
  return params
}

const isLoopback = (ip: string) => ip.startsWith('127.') || ip.startsWith('::ffff:127.') || ip === '::1'

/**
 * Whether an incoming peer connection from `remote` shows that peers can dial us. A dial over
 * loopback comes from this machine and says nothing of other hosts, unless the listener is on
 * loopback itself, where this machine is all there is.
 */
export function provesReach(listenHost: string | undefined, remote: string | undefined): boolean {
  if (remote === undefined) return false
  return !isLoopback(remote) || (listenHost !== undefined && isLoopback(listenHost))
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
    peerId: PEER_ID_PREFIX_HEX + randomBytes(12).toString('hex'),
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
    tracker: { getAnnounceOpts: () => announceParams(o, client.uploadSpeed, reachable) },
  })
  if (o.listenHost !== undefined) bindListener(client, o.listenHost, o.port)
  onIncomingConnection(client, (remote) => (reachable ||= provesReach(o.listenHost, remote)))
  return client
}
