// Serving an installed release to peers once one shows up (scouted-seeding.ts waits for
// that): pieces come from the installed files through the piece store, each verified before
// it is uploaded.
import type { Server, Socket } from 'node:net'
import type { Torrent, Wire } from 'webtorrent'
import { encodeTorrentFile, torrentInfoOf } from '../../../release/torrent.ts'
import { verifiedFiles } from '../../../store/verified-files-table.ts'
import { InstallPieceStore, PieceReader, torrentBitfield } from '../../storage/install-piece-store.ts'
import { giveBackOnWrite } from '../../storage/upload-loans.ts'
import type { WorkerPool } from '../../../release/worker-pool.ts'
import type { PlacementResult, PlacementTask } from '../../install/placement-tasks.ts'
import { createSwarmClient } from './swarm-client.ts'
import { tokenedTrackers } from './announce-params.ts'
import { guardWires } from './wire-guard.ts'
import { acceptIncoming, batchWireWrites, boundWireUploads, skipDials } from './webtorrent-adapter.ts'
import { hostOfPeer, unmapAddress } from '../../stats/peer-class.ts'
import { uploadQueuePerWire } from './peer-settings.ts'
import { localAddresses } from '../../../net/local-addresses.ts'
import { secureSwarm } from './tls-peers.ts'
import type { SeedOptions, SeedRelease, Seeding } from './seed-release.ts'

/** What the scout found: its peer id, listener and port, the connections it accepted and the addresses it learnt; and the piece readers (pieceReaders), which the seeder then owns. */
export interface SeedHandOver {
  readonly peerId: string
  readonly readers: WorkerPool<PlacementTask, PlacementResult>
  readonly listener?: Server
  readonly port: number
  readonly incoming: readonly Socket[]
  readonly peers: readonly string[]
}

/** Seeds `r` on the scout's port; takes its connections and dials the peers it learnt. */
export async function serveRelease(o: SeedOptions, r: SeedRelease, handOver: SeedHandOver): Promise<Seeding> {
  const { manifest, layout, servable, announce, lsd, admission } = r
  const bitfield = torrentBitfield(servable, layout.geometry.pieceCount)
  const trackers = tokenedTrackers(announce, o.trackerToken)
  const torrentFile = encodeTorrentFile(torrentInfoOf(manifest), trackers, new Date(manifest.createdAt))
  const client = createSwarmClient({ ...o, peerId: handOver.peerId, port: handOver.port, listener: handOver.listener, lsd })
  const unwatch = o.limits?.watchPeers((r) => client.throttleUpload(!r.uploadAllowed ? 0 : r.peerUp > 0 ? r.peerUp : -1))
  const readers = handOver.readers
  const torrent: Torrent = client.add(torrentFile, { store: InstallPieceStore, storeOpts: { shoal: new PieceReader(layout, readers, verifiedFiles(o.db, r.paths.install)) }, storeCacheSlots: 0, bitfield, announce: trackers })
  const peering = admission && secureSwarm(client, torrent, admission, o.maxPeers, localAddresses())
  // A seeder serves whoever dials it, so it does not dial a host that has a wire or a connection
  // from the scout open to it. A seeder woken by a peer's dial announces and hears of that very
  // peer: two wires between one pair split the requests and cost a TLS session each (case 2 of
  // the hybrid bench, 1 GiB: 7.49-7.55 s with the second wire, 6.21-6.84 s without).
  skipDials(torrent, (address) => {
    const host = hostOfPeer(address)
    const open = [...torrent.wires.map((w) => w.remoteAddress), ...handOver.incoming.filter((c) => !c.destroyed).map((c) => c.remoteAddress)]
    return open.some((remote) => unmapAddress(remote ?? '') === host)
  })
  const release = () => {
    peering?.stop()
    admission?.holder.stop()
  }
  if (o.acceptPeer) torrent.on('wire', (wire: Wire) => !o.acceptPeer!(wire.remoteAddress ?? '') && wire.destroy())
  const guard = guardWires(torrent, {
    maxPeers: o.maxPeers,
    isBanned: () => false,
    localAddresses: localAddresses(),
    onWire: (wire) => {
      batchWireWrites(torrent, wire, giveBackOnWrite)
      boundWireUploads(torrent, wire, uploadQueuePerWire)
    },
  })
  try {
    await new Promise<void>((resolve, reject) => {
      torrent.once('ready', () => resolve())
      torrent.once('error', reject)
      client.once('error', reject)
    })
  } catch (err) {
    release()
    await new Promise<void>((resolve) => client.destroy(() => resolve()))
    await readers.close()
    throw err
  }
  if (!client.listening) await new Promise((resolve) => client.once('listening', resolve))
  for (const conn of handOver.incoming) acceptIncoming(client, conn)
  for (const peer of handOver.peers) torrent.addPeer(peer)
  return {
    product: manifest.product,
    version: manifest.version,
    infoHash: manifest.pack.infoHash,
    port: client.address()!.port,
    pieces: servable.length,
    pieceCount: layout.geometry.pieceCount,
    lsd,
    uploaded: () => torrent.uploaded,
    uploadedByClass: () => ({ ...guard.uploaded }),
    peers: () => torrent.wires.length,
    refusals: () => peering?.refusals() ?? {},
    failure: () => undefined,
    stop: () =>
      new Promise((resolve) => {
        unwatch?.()
        release()
        client.destroy(() => void readers.close().then(resolve))
      }),
  }
}
