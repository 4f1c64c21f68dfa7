// Pure: which peers a tracker hands out first. Peers on the requester's own subnet
// (same IPv4 /24 or IPv6 /64) come first, then other private-range peers, then the rest,
// each group in random order so load spreads across seeders.
import { isPrivateAddress, sameSubnet } from '../net/address-scope.ts'

export type PeerScope = 0 | 1 | 2

/** 0: same subnet as the requester; 1: both in private ranges; 2: anything else. */
export function peerScope(requester: string, peer: string): PeerScope {
  if (sameSubnet(requester, peer)) return 0
  return isPrivateAddress(requester) && isPrivateAddress(peer) ? 1 : 2
}

/** Up to `numwant` of `peers`, nearest scope first, random within a scope. */
export function rankPeers<P extends { readonly ip: string }>(requester: string, peers: readonly P[], numwant: number, random: () => number): P[] {
  return peers
    .map((peer) => ({ peer, key: peerScope(requester, peer.ip) + random() }))
    .sort((a, b) => a.key - b.key)
    .slice(0, numwant)
    .map((r) => r.peer)
}
