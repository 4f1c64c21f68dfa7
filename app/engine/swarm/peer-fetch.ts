// Fetches the pieces a job still needs from peers (webtorrent over TCP) into the
// staging files, until every needed piece is in or the swarm stalls; the caller then
// lets the CDN fill what is left. webtorrent checks each piece's SHA-1 before the store
// writes it, and the whole-file SHA-256 check before commit covers the rest.
import type { Torrent, Wire } from 'webtorrent'
import type { Manifest } from '../../../shared/release-schema.ts'
import { encodeTorrentFile, torrentInfoOf } from '../../release/torrent.ts'
import { classifyPeer, unmapAddress, type PeerClass } from '../stats/peer-class.ts'
import { createPeerBans } from './peer-bans.ts'
import { packGeometry } from '../storage/pack-geometry.ts'
import { InstallPieceStore, type FilePosition, type PieceStoreLayout } from '../storage/install-piece-store.ts'
import { createSwarmClient, type SwarmClientOptions } from './swarm-client.ts'
import type { LiveLimits } from '../../policy/live-limits.ts'

export interface PeerFetchOptions extends SwarmClientOptions {
  readonly manifest: Manifest
  /** Chunks still to fetch. */
  readonly pending: ReadonlySet<number>
  /** Where each pending chunk goes: staged files being assembled, never hard links into the install. */
  readonly writeTo: readonly FilePosition[][]
  /** Peers to dial directly ("host:port"). */
  readonly peers: readonly string[]
  readonly trackers: readonly string[]
  /** Give up on the swarm when no piece arrives for this long. */
  readonly stallMs: number
  readonly localAddresses: readonly string[]
  /** Chunks whose every piece has arrived. */
  readonly onChunks: (chunks: number[]) => void
  /** Aborting ends the swarm at once, as a stall would. */
  readonly signal?: AbortSignal
  /** Peer rates that may change while the fetch runs. */
  readonly limits?: LiveLimits
}

export interface PeerResult {
  readonly bytes: Record<PeerClass, number>
  /** Addresses banned for sending pieces that failed verification. */
  readonly banned: string[]
}

const FAILED_PIECE = /^Piece (\d+) failed verification/

export async function fetchFromPeers(o: PeerFetchOptions): Promise<PeerResult> {
  const m = o.manifest
  const geometry = packGeometry(m)
  const pieceLength = m.pack.pieceLength
  const piecesOf = (chunk: number): [number, number] => {
    const start = geometry.chunkOffsets[chunk]!
    return [Math.floor(start / pieceLength), Math.floor((start + m.chunks.size[chunk]! - 1) / pieceLength)]
  }
  const needed = new Set<number>()
  for (const c of o.pending) {
    const [a, b] = piecesOf(c)
    for (let p = a; p <= b; p++) needed.add(p)
  }
  const bytes: Record<PeerClass, number> = { lan: 0, wan: 0 }
  const bans = createPeerBans()
  if (needed.size === 0) return { bytes, banned: [] }

  // Pieces may also hold chunks that are done or live in linked files: writing those would be
  // redundant (and through a link, into the install), so the layout writes pending chunks only.
  const layout: PieceStoreLayout = {
    geometry,
    pieceHashes: Buffer.from(m.pack.pieces, 'base64'),
    readFrom: m.chunks.size.map((_, c) => o.writeTo[c]?.[0]),
    writeTo: m.chunks.size.map((_, c) => (o.pending.has(c) ? (o.writeTo[c] ?? []) : [])),
  }
  const client = createSwarmClient(o)
  const wires: Wire[] = []
  const unwatch = o.limits?.watchPeers((r) => {
    client.throttleDownload(r.peerDown > 0 ? r.peerDown : -1)
    // webtorrent reads a rate of 0 as "send nothing".
    client.throttleUpload(!r.uploadAllowed ? 0 : r.peerUp > 0 ? r.peerUp : -1)
  })
  try {
    const torrentFile = encodeTorrentFile(torrentInfoOf(m), [...m.pack.announce, ...o.trackers], new Date(m.createdAt))
    const torrent: Torrent = client.add(torrentFile, { store: InstallPieceStore, storeOpts: { shoal: layout }, deselect: true, announce: [...o.trackers] })
    await new Promise<void>((resolve, reject) => {
      torrent.once('ready', () => resolve())
      torrent.once('error', reject)
    })
    // webtorrent does not attribute hash failures: remember who sent blocks of each piece,
    // charge every sender of a piece that fails, and drop banned peers, incoming ones too.
    const senders = new Map<number, Set<string>>()
    torrent.on('wire', (wire: Wire) => {
      const address = unmapAddress(wire.remoteAddress ?? '')
      if (bans.isBanned(address)) return wire.destroy()
      wires.push(wire)
      wire.on('piece', (index: number) => senders.set(index, (senders.get(index) ?? new Set()).add(address)))
    })
    torrent.on('warning', (err: Error) => {
      const failed = FAILED_PIECE.exec(err.message)
      if (!failed) return
      const index = Number(failed[1])
      for (const address of senders.get(index) ?? []) {
        if (bans.recordFailure(address)) for (const w of torrent.wires) if (unmapAddress(w.remoteAddress ?? '') === address) w.destroy()
      }
      senders.delete(index)
    })
    for (const p of needed) torrent.select(p, p, 1)
    for (const peer of o.peers) torrent.addPeer(peer)

    const arrived = new Set<number>()
    await new Promise<void>((resolve) => {
      let timer = setTimeout(resolve, o.stallMs)
      const stop = () => {
        clearTimeout(timer)
        resolve()
      }
      if (o.signal?.aborted) stop()
      o.signal?.addEventListener('abort', stop, { once: true })
      torrent.on('verified', (index: number) => {
        senders.delete(index)
        if (!needed.has(index) || arrived.has(index)) return
        arrived.add(index)
        clearTimeout(timer)
        timer = setTimeout(resolve, o.stallMs)
        const chunks = geometry
          .segments(index)
          .flatMap((s) => (s.kind === 'chunk' && o.pending.has(s.chunk) ? [s.chunk] : []))
          .filter((c) => {
            const [a, b] = piecesOf(c)
            for (let p = a; p <= b; p++) if (!arrived.has(p)) return false
            return true
          })
        if (chunks.length > 0) o.onChunks(chunks)
        if (arrived.size === needed.size) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
  } finally {
    unwatch?.()
    for (const wire of wires) bytes[classifyPeer(wire.remoteAddress ?? '', o.localAddresses)] += wire.downloaded
    await new Promise<void>((resolve) => client.destroy(() => resolve()))
  }
  return { bytes, banned: bans.banned() }
}
