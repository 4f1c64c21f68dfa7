// Pure: which peers of a swarm a requester gets, and in what order (issue 15's matching).
// Nearest first: the same site or group, then the same subnet, then private ranges, then the
// rest. Within a tier, an unreachable requester gets reachable peers first (two peers behind
// NAT cannot dial each other), and the order is a random draw weighted by spare upload, so
// load spreads across seeders in proportion to what they can still give.
import { isPrivateAddress, subnetOf } from '../net/address-scope.ts'

/** What a peer told the tracker about itself; stock clients send only the first four. */
export interface SwarmPeer {
  /** 40 hex digits. */
  readonly peerId: string
  readonly ip: string
  readonly port: number
  readonly seeder: boolean
  /** Accepts incoming connections; undefined when the client did not say. */
  readonly reachable?: boolean | undefined
  /** Upload bytes per second it can still give; 0 means it is at its cap. */
  readonly spare?: number | undefined
  /** Site or group id; undefined means "derive it from the subnet". */
  readonly site?: string | undefined
}

/** Weight of a peer that did not report its spare upload: 1 MB/s, a modest home uplink. */
export const DEFAULT_SPARE = 1_000_000

export type Tier = 0 | 1 | 2 | 3

/** The tier of each peer for one requester: 0, same site; 1, same subnet; 2, both in private ranges; 3, anything else. */
function tiers(requester: SwarmPeer): (peer: SwarmPeer) => Tier {
  const subnet = subnetOf(requester.ip)
  const isPrivate = isPrivateAddress(requester.ip)
  return (peer) => {
    if (requester.site !== undefined && requester.site === peer.site) return 0
    // Without site ids on either side, the subnet is the site.
    if (subnetOf(peer.ip) === subnet) return requester.site === undefined && peer.site === undefined ? 0 : 1
    return isPrivate && isPrivateAddress(peer.ip) ? 2 : 3
  }
}

export const tier = (requester: SwarmPeer, peer: SwarmPeer): Tier => tiers(requester)(peer)

/** Whether the tracker should hand `peer` to `requester` at all. */
export function eligible(requester: SwarmPeer, peer: SwarmPeer): boolean {
  // By peer id, never by address: colleagues behind one NAT address share it.
  if (peer.peerId === requester.peerId) return false
  if (peer.spare === 0) return false
  // Machines that name different sites sit behind different WAN links: a piece between them
  // crosses both, where the CDN's copy crosses one. Peers that name no site may still serve.
  if (requester.site !== undefined && peer.site !== undefined && peer.site !== requester.site) return false
  // Two seeders have nothing to give each other.
  return !(requester.seeder && peer.seeder)
}

/**
 * Up to `numwant` of `candidates`, best first. `random` returns numbers in [0, 1).
 * Weighted order within a group: Efraimidis–Spirakis keys, -ln(u)/w ascending.
 */
export function matchPeers<P extends SwarmPeer>(requester: SwarmPeer, candidates: readonly P[], numwant: number, random: () => number): P[] {
  const keyed: { peer: P; group: number; key: number }[] = []
  const tierOf = tiers(requester)
  for (const peer of candidates) {
    if (!eligible(requester, peer)) continue
    const behindNat = requester.reachable === false && peer.reachable === false ? 1 : 0
    const weight = peer.spare ?? DEFAULT_SPARE
    keyed.push({ peer, group: tierOf(peer) * 2 + behindNat, key: -Math.log(1 - random()) / weight })
  }
  return keyed
    .sort((a, b) => a.group - b.group || a.key - b.key)
    .slice(0, Math.max(0, numwant))
    .map((k) => k.peer)
}

/** The site a peer counts under: its own id, else its subnet (/24 for IPv4, /64 for IPv6). */
export function siteOf(peer: Pick<SwarmPeer, 'ip' | 'site'>): string {
  if (peer.site !== undefined) return peer.site
  return peer.ip.includes(':') ? `${subnetOf(peer.ip)}::/64` : `${subnetOf(peer.ip)}.0/24`
}
