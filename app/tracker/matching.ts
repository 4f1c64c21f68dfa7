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

/** `s.startsWith(prefix)`, by char codes: about half the time of the builtin on short strings. */
function startsWith(s: string, prefix: string): boolean {
  if (s.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (s.charCodeAt(i) !== prefix.charCodeAt(i)) return false
  return true
}

/** The tier of each peer for one requester: 0, same site; 1, same subnet; 2, both in private ranges; 3, anything else. */
function tiers(requester: SwarmPeer): (peer: SwarmPeer) => Tier {
  const subnet = subnetOf(requester.ip)
  // An IPv4 peer is in the requester's /24 when its address starts with it: no string per peer.
  const v4Prefix = requester.ip.includes(':') ? undefined : `${subnet}.`
  const isPrivate = isPrivateAddress(requester.ip)
  return (peer) => {
    if (requester.site !== undefined && requester.site === peer.site) return 0
    const sameSubnet = v4Prefix === undefined ? peer.ip.includes(':') && subnetOf(peer.ip) === subnet : startsWith(peer.ip, v4Prefix)
    // Without site ids on either side, the subnet is the site.
    if (sameSubnet) return requester.site === undefined && peer.site === undefined ? 0 : 1
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

/** Groups a requester sorts peers into: tier × (behind NAT for an unreachable requester). */
const GROUPS = 8

/**
 * Up to `numwant` of `candidates`, best first. `random` returns numbers in [0, 1).
 * Weighted order within a group: Efraimidis–Spirakis keys, -ln(u)/w ascending; a group whose
 * peers all weigh the same (stock clients, and Shoal's without an upload cap) is a uniform
 * shuffle, drawn directly for the places it fills: this runs on every announce.
 */
export function matchPeers<P extends SwarmPeer>(requester: SwarmPeer, candidates: readonly P[], numwant: number, random: () => number): P[] {
  // One pass for each candidate's group (GROUPS when ineligible) and whether each group's
  // weights differ; no array per group.
  const n = candidates.length
  const groupOf = new Uint8Array(n)
  const size = new Uint32Array(GROUPS)
  const firstWeight = new Float64Array(GROUPS).fill(-1)
  const mixed = new Uint8Array(GROUPS)
  const tierOf = tiers(requester)
  for (let i = 0; i < n; i++) {
    const peer = candidates[i]!
    if (!eligible(requester, peer)) {
      groupOf[i] = GROUPS
      continue
    }
    const g = tierOf(peer) * 2 + (requester.reachable === false && peer.reachable === false ? 1 : 0)
    groupOf[i] = g
    size[g]!++
    const w = peer.spare ?? DEFAULT_SPARE
    if (firstWeight[g] === -1) firstWeight[g] = w
    else if (firstWeight[g] !== w) mixed[g] = 1
  }
  const out: P[] = []
  for (let g = 0; g < GROUPS && out.length < numwant; g++) {
    if (size[g] === 0) continue
    const group: number[] = []
    for (let i = 0; i < n; i++) if (groupOf[i] === g) group.push(i)
    const take = Math.min(numwant - out.length, group.length)
    if (mixed[g] === 0) {
      // Partial Fisher–Yates: the first `take` places of a uniform permutation.
      for (let j = 0; j < take; j++) {
        const r = j + Math.floor(random() * (group.length - j))
        const picked = group[r]!
        group[r] = group[j]!
        out.push(candidates[picked]!)
      }
    } else {
      const keys = new Float64Array(n)
      for (const i of group) keys[i] = -Math.log(1 - random()) / (candidates[i]!.spare ?? DEFAULT_SPARE)
      group.sort((a, b) => keys[a]! - keys[b]!)
      for (let j = 0; j < take; j++) out.push(candidates[group[j]!]!)
    }
  }
  return out
}

/** The site a peer counts under: its own id, else its subnet (/24 for IPv4, /64 for IPv6). */
export function siteOf(peer: Pick<SwarmPeer, 'ip' | 'site'>): string {
  if (peer.site !== undefined) return peer.site
  return peer.ip.includes(':') ? `${subnetOf(peer.ip)}::/64` : `${subnetOf(peer.ip)}.0/24`
}
