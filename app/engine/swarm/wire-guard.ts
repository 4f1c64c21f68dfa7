// Every wire a torrent gets, dialled or incoming, passes here first. webtorrent checks its
// blocklist only when it dials out, and its `maxConns` only stops it dialling: incoming
// wires from banned addresses or over the cap are dropped here. Upload bytes are counted
// per peer class on the way.
import type { Torrent, Wire } from 'webtorrent'
import { classifyPeer, unmapAddress, type PeerClass } from '../stats/peer-class.ts'

export interface WireGuardOptions {
  /** Most wires at once, both directions. */
  readonly maxPeers: number
  readonly isBanned: (address: string) => boolean
  readonly localAddresses: readonly string[]
  /** Called for each wire that is kept. */
  readonly onWire?: (wire: Wire, address: string, cls: PeerClass) => void
}

export interface WireGuard {
  /** Bytes uploaded to peers, by class. */
  readonly uploaded: Record<PeerClass, number>
  /** Wires dropped for being over the cap. */
  readonly refused: () => number
}

export function guardWires(torrent: Torrent, o: WireGuardOptions): WireGuard {
  const uploaded: Record<PeerClass, number> = { lan: 0, wan: 0 }
  let refused = 0
  torrent.on('wire', (wire: Wire) => {
    const address = unmapAddress(wire.remoteAddress ?? '')
    if (o.isBanned(address)) return wire.destroy()
    // The new wire is already in torrent.wires.
    if (torrent.wires.length > o.maxPeers) {
      refused++
      return wire.destroy()
    }
    const cls = classifyPeer(address, o.localAddresses)
    wire.on('upload', (n: number) => (uploaded[cls] += n))
    o.onWire?.(wire, address, cls)
  })
  return { uploaded, refused: () => refused }
}
