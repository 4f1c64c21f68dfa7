// Every use of webtorrent's private fields, in one place. webtorrent 3 has no public way to
// say "this piece arrived by another route", to see which pieces it has asked peers for, to
// count the peers it is still dialling, or to bind its listener to one address. Each function
// here names the field it touches; test/unit/engine/webtorrent-adapter.test.ts fails when a
// webtorrent upgrade renames or reshapes one of them.
import type { Server } from 'node:net'
import type WebTorrent from 'webtorrent'
import type { Torrent } from 'webtorrent'

interface TorrentInternals {
  /** Per piece: the wires with a block request out, null entries once answered. */
  _reservations: (unknown[] | null)[]
  /** Per piece: progress of a piece being received; null once verified. */
  pieces: ({ length: number; missing: number } | null)[]
  _markVerified(index: number): void
  _checkDone(): void
  /** Peers known to the torrent: connected, handshaking or being dialled. */
  readonly _peersLength: number
}

const internals = (torrent: Torrent) => torrent as unknown as TorrentInternals

/** Whether peers are bringing `piece`: a block request is out, or some of its blocks are in. */
export function pieceFromPeers(torrent: Torrent, piece: number): boolean {
  const t = internals(torrent)
  const p = t.pieces[piece]
  return t._reservations[piece]?.some(Boolean) === true || (p != null && p.missing < p.length)
}

/** Records a piece that arrived by another route (the CDN) as complete, and tells every peer. */
export function markPieceComplete(torrent: Torrent, piece: number): void {
  const t = internals(torrent)
  t._markVerified(piece)
  for (const w of torrent.wires) w.have(piece)
  t._checkDone()
}

/** Peers the torrent knows: connected, in handshake, or being dialled. */
export function knownPeers(torrent: Torrent): number {
  return internals(torrent)._peersLength
}

/**
 * webtorrent listens on every interface and has no option for an address (webtorrent#2158).
 * Its TCP server binds synchronously in the constructor, so it is re-bound at once to the
 * configured address, before any peer could have connected.
 */
export function bindListener(client: WebTorrent, host: string, port: number): void {
  const server = (client as unknown as { _connPool?: { tcpServer: Server } })._connPool?.tcpServer
  if (!server) throw new Error('webtorrent has no TCP listener to bind')
  server.close()
  server.listen(port, host)
}
