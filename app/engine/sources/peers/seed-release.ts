// What a seeder serves, found without webtorrent: the installed release, the pieces its files
// hold, its trackers, LAN discovery and its peer pass. scouted-seeding.ts reads it before any
// peer shows up; seed-job.ts serves it once one does.
import { stat } from 'node:fs/promises'
import type { KeyObject } from 'node:crypto'
import type { Manifest } from '../../../../shared/release-schema.ts'
import { ShoalError } from '../../../../shared/errors.ts'
import { decodeManifest } from '../../../release/manifest-codec.ts'
import { readInstalledRow } from '../../../store/installs-table.ts'
import type { StateDb } from '../../../store/state-db.ts'
import { installPaths, patchBlobPath, type InstallPaths } from '../../install/install-paths.ts'
import { pieceStoreLayout, type ChunkFile, type PieceStoreLayout } from '../../storage/install-piece-store.ts'
import type { LiveLimits } from '../../../policy/live-limits.ts'
import type { PeerClass } from '../../stats/peer-class.ts'
import { usesLanDiscovery } from './discovery-policy.ts'
import type { SwarmClientOptions } from './swarm-client.ts'
import { joinAdmission, type AdmissionSettings, type SwarmAdmission } from './swarm-admission.ts'
import type { Refusals } from './refusals.ts'
import { WorkerPool } from '../../../release/worker-pool.ts'
import { userCompileCache } from '../../../release/compile-cache.ts'
import type { PlacementResult, PlacementTask } from '../../install/placement-tasks.ts'

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
  /** Why the seeder stopped serving by itself (its swarm could not start), else undefined. */
  failure(): Error | undefined
  stop(): Promise<void>
}

/** The installed release a seeder serves. */
export interface SeedRelease {
  readonly manifest: Manifest
  readonly paths: InstallPaths
  readonly layout: PieceStoreLayout
  /** Pieces whose every chunk the install holds. */
  readonly servable: readonly number[]
  /** The manifest's trackers and the ones given. */
  readonly announce: readonly string[]
  readonly lsd: boolean
  /** The peer pass, for a swarm that admits (undefined for a public release). */
  readonly admission: SwarmAdmission | undefined
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

/** Reads the install and joins the swarm's admission: E_NOT_INSTALLED, or E_PEER_AUTH when no pass can be had. */
export async function seedRelease(o: SeedOptions): Promise<SeedRelease> {
  const paths = installPaths(o.installDir)
  const row = readInstalledRow(o.db, paths.install)
  if (!row) throw new ShoalError('E_NOT_INSTALLED', `${paths.install} holds no Shoal install`, 'install it with `shoal get` first')
  const manifest = decodeManifest(row.manifest, o.publicKey, `installed manifest of ${paths.install}`)
  const layout = pieceStoreLayout(manifest, paths.install, await keptPatches(manifest, paths))
  const servable = layout.geometry.completePieces((chunk) => layout.readFrom(chunk) !== undefined)
  const announce = [...new Set([...manifest.pack.announce, ...o.trackers])]
  // No pass, no seeding: a seeder that admits no one must say so rather than sit silent.
  const admission = await joinAdmission(manifest, o.publicKey, announce, o.trackerToken, o)
  return { manifest, paths, layout, servable, announce, lsd: usesLanDiscovery(manifest.scope, o.lsd), admission }
}

/**
 * The worker that reads and checks pieces for upload, off the thread that runs the peers' wires.
 * A scouting seeder starts it while the swarm layer loads: webtorrent checks a piece of the
 * startup bitfield through it before the first peer is served.
 */
export function pieceReaders(): WorkerPool<PlacementTask, PlacementResult> {
  return new WorkerPool<PlacementTask, PlacementResult>(new URL('../../install/placement-worker.ts', import.meta.url), 1, { compileCache: userCompileCache() })
}
