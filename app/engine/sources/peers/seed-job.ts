// `shoal seed`: serve an installed release to peers. Pieces come from the installed
// files through the piece store, each verified before it is uploaded.
import type { KeyObject } from 'node:crypto'
import { stat } from 'node:fs/promises'
import type { Manifest } from '../../../../shared/release-schema.ts'
import type { Torrent, Wire } from 'webtorrent'
import { ShoalError } from '../../../../shared/errors.ts'
import { decodeManifest } from '../../../release/manifest-codec.ts'
import { encodeTorrentFile, torrentInfoOf } from '../../../release/torrent.ts'
import { readInstalledRow } from '../../../store/installs-table.ts'
import { verifiedFiles } from '../../../store/verified-files-table.ts'
import type { StateDb } from '../../../store/state-db.ts'
import { installPaths, patchBlobPath, type InstallPaths } from '../../install/install-paths.ts'
import { InstallPieceStore, PieceReader, pieceStoreLayout, torrentBitfield, type ChunkFile } from '../../storage/install-piece-store.ts'
import { giveBackOnWrite } from '../../storage/upload-loans.ts'
import { WorkerPool } from '../../../release/worker-pool.ts'
import { userCompileCache } from '../../../release/compile-cache.ts'
import type { PlacementResult, PlacementTask } from '../../install/placement-tasks.ts'
import { usesLanDiscovery } from './discovery-policy.ts'
import { createSwarmClient, type SwarmClientOptions } from './swarm-client.ts'
import type { LiveLimits } from '../../../policy/live-limits.ts'
import { guardWires } from './wire-guard.ts'
import { batchWireWrites, boundWireUploads } from './webtorrent-adapter.ts'
import { uploadQueuePerWire } from './peer-settings.ts'
import type { PeerClass } from '../../stats/peer-class.ts'
import { localAddresses } from '../../../net/local-addresses.ts'
import { joinAdmission, type AdmissionSettings } from './swarm-admission.ts'
import { secureSwarm } from './tls-peers.ts'
import type { Refusals } from './refusals.ts'

export interface SeedOptions extends Omit<SwarmClientOptions, 'lsd'>, AdmissionSettings {
  readonly db: StateDb
  readonly installDir: string
  readonly publicKey: KeyObject
  /** Announce URLs besides the manifest's own. */
  readonly trackers: readonly string[]
  /** LAN discovery on or off; undefined leaves it to the release's scope. */
  readonly lsd?: boolean
  /** Upload rates that may change while seeding (the agent's caps and sharing policy). */
  readonly limits?: LiveLimits
  /** Peers refused by policy (e.g. sharing on the LAN only) are disconnected as they arrive. */
  readonly acceptPeer?: (address: string) => boolean
}

export interface Seeding {
  readonly product: string
  readonly version: string
  readonly infoHash: string
  readonly port: number
  /** Pieces this install can serve (pieces of chunks no longer in the release cannot be). */
  readonly pieces: number
  readonly pieceCount: number
  /** Whether LAN discovery announces this seeder. */
  readonly lsd: boolean
  uploaded(): number
  /** Bytes uploaded by peer class. */
  uploadedByClass(): Record<PeerClass, number>
  peers(): number
  /** Peers refused admission, by reason. */
  refusals(): Refusals
  stop(): Promise<void>
}

/** The patches the update to this version staged and kept, whole: their pieces can be served too. */
async function keptPatches(m: Manifest, paths: InstallPaths): Promise<ChunkFile[]> {
  const kept = await Promise.all(
    (m.patches ?? []).map(async (p, k) => {
      const path = patchBlobPath(paths, m.version, k)
      const size = await stat(path).then((s) => s.size, () => -1)
      return size === p.size ? [{ path, chunks: p.chunks }] : []
    }),
  )
  return kept.flat()
}

export async function startSeeding(o: SeedOptions): Promise<Seeding> {
  const paths = installPaths(o.installDir)
  const row = readInstalledRow(o.db, paths.install)
  if (!row) throw new ShoalError('E_NOT_INSTALLED', `${paths.install} holds no Shoal install`, 'install it with `shoal get` first')
  const manifest = decodeManifest(row.manifest, o.publicKey, `installed manifest of ${paths.install}`)
  const layout = pieceStoreLayout(manifest, paths.install, await keptPatches(manifest, paths))
  const servable = layout.geometry.completePieces((chunk) => layout.readFrom(chunk) !== undefined)
  const bitfield = torrentBitfield(servable, layout.geometry.pieceCount)
  const announce = [...new Set([...manifest.pack.announce, ...o.trackers])]
  const torrentFile = encodeTorrentFile(torrentInfoOf(manifest), announce, new Date(manifest.createdAt))
  const lsd = usesLanDiscovery(manifest.scope, o.lsd)
  // No pass, no seeding: a seeder that admits no one must say so rather than sit silent.
  const admission = await joinAdmission(manifest, o.publicKey, announce, o.trackerToken, o)
  const client = createSwarmClient({ ...o, lsd })
  const unwatch = o.limits?.watchPeers((r) => client.throttleUpload(!r.uploadAllowed ? 0 : r.peerUp > 0 ? r.peerUp : -1))
  // One worker reads and checks pieces for upload, off the thread that runs the peers' wires.
  const readers = new WorkerPool<PlacementTask, PlacementResult>(new URL('../../install/placement-worker.ts', import.meta.url), 1, { compileCache: userCompileCache() })
  const torrent: Torrent = client.add(torrentFile, { store: InstallPieceStore, storeOpts: { shoal: new PieceReader(layout, readers, verifiedFiles(o.db, paths.install)) }, storeCacheSlots: 0, bitfield, announce })
  const peering = admission && secureSwarm(client, torrent, admission, o.maxPeers, localAddresses())
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
  if (!client.listening) await new Promise((r) => client.once('listening', r))
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
    stop: () =>
      new Promise((resolve) => {
        unwatch?.()
        release()
        client.destroy(() => void readers.close().then(resolve))
      }),
  }
}
