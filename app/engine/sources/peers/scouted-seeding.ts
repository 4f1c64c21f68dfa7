// `shoal seed` and the agent's sharing: a seeder starts with a scout (peer-scout.ts) that
// listens and announces, and loads webtorrent only when a peer dials in, LAN discovery names
// one, or a tracker names peers while it counts leechers. A seeder of a release nobody is
// fetching then holds no swarm: an idle seed took 103 MiB with webtorrent, 71 MiB without
// (README, *Seeding*).
import { announceParams, newPeerId, tokenedTrackers } from './announce-params.ts'
import { dropHandOver, PeerScout, scoutable } from './peer-scout.ts'
import type { Refusals } from './refusals.ts'
import { pieceReaders, seedRelease, type SeedOptions, type SeedRelease, type Seeding } from './seed-release.ts'
import type { PeerClass } from '../../stats/peer-class.ts'
import { localAddresses } from '../../../net/local-addresses.ts'

export type { SeedOptions, Seeding } from './seed-release.ts'

/** Seeds the release installed in `o.installDir`: E_NOT_INSTALLED, or E_PEER_AUTH without a pass. */
export async function startSeeding(o: SeedOptions): Promise<Seeding> {
  const r = await seedRelease(o)
  const peerId = newPeerId()
  if (!scoutable([], r.announce)) {
    const { serveRelease } = await import('./seed-job.ts')
    return serveRelease(o, r, { peerId, readers: pieceReaders(), port: o.port, incoming: [], peers: [] })
  }
  const seeding = new ScoutedSeeding(o, r, peerId)
  await seeding.open()
  return seeding
}

class ScoutedSeeding implements Seeding {
  readonly product: string
  readonly version: string
  readonly infoHash: string
  readonly pieces: number
  readonly pieceCount: number
  readonly lsd: boolean
  private readonly o: SeedOptions
  private readonly r: SeedRelease
  private readonly peerId: string
  private scout: PeerScout | undefined
  private seeder: Seeding | undefined
  private starting: Promise<void> | undefined
  private stopped = false
  private failed: Error | undefined

  constructor(o: SeedOptions, r: SeedRelease, peerId: string) {
    this.o = o
    this.r = r
    this.peerId = peerId
    this.product = r.manifest.product
    this.version = r.manifest.version
    this.infoHash = r.manifest.pack.infoHash
    this.pieces = r.servable.length
    this.pieceCount = r.layout.geometry.pieceCount
    this.lsd = r.lsd
  }

  async open(): Promise<void> {
    this.scout = await PeerScout.open({
      infoHash: this.infoHash,
      peerId: this.peerId,
      trackers: tokenedTrackers(this.r.announce, this.o.trackerToken),
      lsd: this.lsd,
      port: this.o.port,
      listenHost: this.o.listenHost,
      ownAddresses: localAddresses(),
      params: () => announceParams(this.o, 0),
      left: () => 0,
      maxPeers: this.o.maxPeers,
      seeding: true,
      found: () => this.startSwarm(),
      now: Date.now,
    }).catch((err: unknown) => {
      this.r.admission?.holder.stop()
      throw err
    })
  }

  get port(): number {
    return this.scout!.port
  }

  uploaded(): number {
    return this.seeder?.uploaded() ?? 0
  }

  uploadedByClass(): Record<PeerClass, number> {
    return this.seeder?.uploadedByClass() ?? { lan: 0, wan: 0 }
  }

  peers(): number {
    return this.seeder?.peers() ?? 0
  }

  refusals(): Refusals {
    return this.seeder?.refusals() ?? {}
  }

  failure(): Error | undefined {
    return this.failed
  }

  async stop(): Promise<void> {
    this.stopped = true
    await this.starting
    if (this.seeder) return this.seeder.stop()
    // A scout handed over to a swarm that failed or stopped has ended already: this only stops a live one.
    await this.scout!.stop()
    this.r.admission?.holder.stop()
  }

  /** A peer is known: webtorrent takes the port, the waiting connections and the addresses. */
  private startSwarm(): void {
    if (this.starting || this.stopped) return
    const scout = this.scout!
    this.starting = (async () => {
      // Its worker boots on the other core while the swarm layer loads on this one.
      const readers = pieceReaders()
      const { serveRelease } = await import('./seed-job.ts').catch(async (err: unknown) => {
        await readers.close()
        throw err
      })
      if (this.stopped) return readers.close()
      const handOver = scout.handOver()
      let seeder: Seeding
      try {
        seeder = await serveRelease(this.o, this.r, { peerId: this.peerId, readers, ...handOver })
      } catch (err) {
        dropHandOver(handOver)
        throw err
      }
      if (this.stopped) return seeder.stop()
      this.seeder = seeder
    })().catch((err: unknown) => {
      this.failed = err instanceof Error ? err : new Error(String(err))
    })
  }
}
