// Pure: which peers to refuse. webtorrent neither bans on hash failures nor checks its
// blocklist for incoming connections; the swarm asks this on every connection, both ways.
import { unmapAddress } from '../../stats/peer-class.ts'

export const DEFAULT_BAN_AFTER = 3

export interface PeerBans {
  /** Records a piece from `address` that failed verification; true when this bans the peer. */
  recordFailure(address: string): boolean
  isBanned(address: string): boolean
  failures(address: string): number
  banned(): string[]
}

export function createPeerBans(banAfter = DEFAULT_BAN_AFTER): PeerBans {
  const counts = new Map<string, number>()
  const key = (address: string) => unmapAddress(address)
  return {
    recordFailure: (address) => {
      const n = (counts.get(key(address)) ?? 0) + 1
      counts.set(key(address), n)
      return n === banAfter
    },
    isBanned: (address) => (counts.get(key(address)) ?? 0) >= banAfter,
    failures: (address) => counts.get(key(address)) ?? 0,
    banned: () => [...counts].filter(([, n]) => n >= banAfter).map(([a]) => a),
  }
}
