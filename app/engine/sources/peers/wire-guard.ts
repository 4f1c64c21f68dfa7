// Every wire a torrent gets, dialled or incoming, passes here first. webtorrent checks its
// blocklist only when it dials out, and its `maxConns` only stops it dialling: incoming
// wires from banned addresses or over the cap are dropped here. Upload bytes are counted
// per peer class on the way, and uploads follow the sharing policy per class (webtorrent
// unchokes every interested peer; a wire we keep choked is served nothing).
import type { Torrent, Wire } from 'webtorrent'
import { classifyPeer, unmapAddress, type PeerClass } from '../../stats/peer-class.ts'

export interface WireGuardOptions {
  /** Most wires at once, both directions. */
  readonly maxPeers: number
  readonly isBanned: (address: string) => boolean
  readonly localAddresses: readonly string[]
  /** Called for each wire that is kept. */
  readonly onWire?: (wire: Wire, address: string, cls: PeerClass) => void
  /** Whether peers of this class may be served now; read each time a wire would be unchoked. */
  readonly mayUpload?: (cls: PeerClass) => boolean
}

export interface WireGuard {
  /** Bytes uploaded to peers, by class. */
  readonly uploaded: Record<PeerClass, number>
  /** Wires dropped for being over the cap. */
  readonly refused: () => number
  /** Chokes the wires `mayUpload` no longer allows; call it when the policy changes. */
  readonly enforceUpload: () => void
  /** Wires kept and still open, by class. */
  readonly connected: () => Record<PeerClass, number>
}

export function guardWires(torrent: Torrent, o: WireGuardOptions): WireGuard {
  const uploaded: Record<PeerClass, number> = { lan: 0, wan: 0 }
  let refused = 0
  const kept = new Map<Wire, PeerClass>()
  const mayUpload = o.mayUpload ?? (() => true)
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
    kept.set(wire, cls)
    wire.once('close', () => kept.delete(wire))
    const unchoke = wire.unchoke.bind(wire)
    wire.unchoke = () => {
      if (mayUpload(cls)) unchoke()
    }
    o.onWire?.(wire, address, cls)
  })
  const enforceUpload = () => {
    for (const [wire, cls] of kept) if (!mayUpload(cls)) wire.choke()
  }
  const connected = () => {
    const peers: Record<PeerClass, number> = { lan: 0, wan: 0 }
    for (const cls of kept.values()) peers[cls]++
    return peers
  }
  return { uploaded, refused: () => refused, enforceUpload, connected }
}
