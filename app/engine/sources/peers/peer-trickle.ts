// Pure: which peers trickle. A peer that owes us blocks and sends almost nothing keeps the pieces
// it was asked for, while the swarm-wide stall check sees the other peers' blocks and never hands
// those pieces to the CDN. Such a wire is cut; its pieces go back to the other sources. A peer
// that is merely slower than another is left alone (webtorrent moves requests off slow wires).

/** One wire over the last window. */
export interface PeerWindow<K> {
  readonly key: K
  /** Block bytes received from it in the window. */
  readonly bytes: number
  /** Whether it has requests outstanding: an idle peer is not judged. */
  readonly owes: boolean
}

export interface PeerTrickleVerdict<K> {
  /** Slow windows in a row, per wire still under watch. */
  readonly slow: Map<K, number>
  /** Wires to cut now. */
  readonly cut: K[]
}

/**
 * Judges one window of `windowMs`: a wire that owes blocks and brought fewer than `floor` bytes
 * per second is slow; `windows` slow windows in a row cut it (one short window may be the event
 * loop's fault). A silent wire counts as slow: other peers' blocks keep the swarm from stalling.
 */
export function judgePeers<K>(slow: ReadonlyMap<K, number>, peers: readonly PeerWindow<K>[], windowMs: number, floor: number, windows: number): PeerTrickleVerdict<K> {
  const next = new Map<K, number>()
  const cut: K[] = []
  for (const p of peers) {
    if (!p.owes || (p.bytes * 1000) / windowMs >= floor) continue
    const n = (slow.get(p.key) ?? 0) + 1
    next.set(p.key, n)
    if (n >= windows) cut.push(p.key)
  }
  return { slow: next, cut }
}
