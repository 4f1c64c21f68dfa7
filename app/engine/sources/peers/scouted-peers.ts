// A job's peers: its swarm starts with a scout (peer-scout.ts) and loads webtorrent only once a
// peer is known or dials in. Most jobs of a release nobody else is fetching then never load it:
// the CDN brings every piece while the scout keeps announcing. A job given peers to dial, or
// trackers the scout cannot speak to, starts the swarm at once.
import { isShoalError } from '../../../../shared/errors.ts'
import type { PiecesInFlight } from './webtorrent-adapter.ts'
import { announceParams, newPeerId, tokenedTrackers } from './announce-params.ts'
import type { PeerSource, PeerSourceOptions } from './peer-source.ts'
import type { PeerSourceResult, SwarmPeers, SwarmView } from './swarm-peers.ts'
import { readyOrStopped } from '../source.ts'
import { dropHandOver, PeerScout, scoutable } from './peer-scout.ts'
import { joinAdmission, type SwarmAdmission } from './swarm-admission.ts'

export interface SwarmPeersOptions extends PeerSourceOptions {
  /** The pieces still needed now: a swarm started later asks peers for these only. */
  readonly neededNow: () => readonly number[]
  /** Bytes still needed, told to trackers. */
  readonly left: () => number
}

const NOTHING_IN_FLIGHT: PiecesInFlight = { pieces: () => [], askAgain: () => {} }

/** Joins the swarm (a peer pass first, for a swarm that admits): a scout, or the swarm itself; without a pass, says why. */
export async function openSwarmPeers(o: SwarmPeersOptions): Promise<SwarmPeers | { readonly authError: string }> {
  const announce = [...new Set([...o.manifest.pack.announce, ...o.trackers])]
  let admission: SwarmAdmission | undefined
  try {
    admission = await joinAdmission(o.manifest, o.publisherKey, announce, o.trackerToken, o)
  } catch (err) {
    // Without a pass no peer would admit us: the CDN brings it all, and the reason is reported.
    if (isShoalError(err) && err.code === 'E_PEER_AUTH') return { authError: err.message }
    throw err
  }
  const peerId = newPeerId()
  if (!scoutable(o.peers, announce)) return startSwarmAtOnce({ ...o, peerId }, announce, admission)
  const peers = new ScoutedPeers(o, peerId, announce, admission)
  return readyOrStopped(peers, () => peers.open())
}

async function startSwarmAtOnce(o: PeerSourceOptions, announce: readonly string[], admission: SwarmAdmission | undefined): Promise<PeerSource> {
  const { startPeerSource } = await import('./peer-source.ts')
  return startPeerSource(o, announce, admission)
}

class ScoutedPeers implements SwarmPeers {
  readonly kind = 'peers'
  private readonly o: SwarmPeersOptions
  private readonly peerId: string
  private readonly announce: readonly string[]
  private readonly admission: SwarmAdmission | undefined
  private scout: PeerScout | undefined
  private swarm: PeerSource | undefined
  private starting: Promise<void> | undefined
  /** Pieces the CDN completed before the swarm ran: told to it once it does. */
  private readonly completed: number[] = []
  private readonly noPeers: Uint8Array
  private running = false
  private stopped = false
  private settle: { resolve: () => void; reject: (err: unknown) => void } | undefined
  private failure: unknown
  private readonly openedAt: number

  constructor(o: SwarmPeersOptions, peerId: string, announce: readonly string[], admission: SwarmAdmission | undefined) {
    this.o = o
    this.peerId = peerId
    this.announce = announce
    this.admission = admission
    this.noPeers = new Uint8Array(o.geometry.pieceCount)
    this.openedAt = o.now()
  }

  async open(): Promise<void> {
    const o = this.o
    this.scout = await PeerScout.open({
      infoHash: o.manifest.pack.infoHash,
      peerId: this.peerId,
      trackers: tokenedTrackers(this.announce, o.trackerToken),
      lsd: o.lsd === true,
      port: o.port,
      listenHost: o.listenHost,
      ownAddresses: o.localAddresses,
      params: () => announceParams(o, 0),
      left: o.left,
      maxPeers: o.maxPeers,
      found: () => this.startSwarm(),
      now: o.now,
    })
  }

  get lastBlockAt(): number {
    return this.swarm?.lastBlockAt ?? this.openedAt
  }

  run(): Promise<void> {
    this.running = true
    if (this.swarm) return this.swarm.run()
    return new Promise<void>((resolve, reject) => {
      if (this.failure !== undefined) return reject(this.failure)
      this.settle = { resolve, reject }
    })
  }

  view(now: number, needed: readonly number[]): SwarmView {
    if (this.swarm) return this.swarm.view(now, needed)
    return {
      sources: 0,
      availability: this.noPeers,
      inFlight: NOTHING_IN_FLIGHT,
      rate: 0,
      trackersPending: this.scout?.trackersPending() ?? false,
      // A peer is known and the swarm is starting to dial it or to read its connection.
      connecting: this.starting ? 1 : 0,
      silent: 0,
      lastChange: this.scout?.lastChange ?? this.openedAt,
      group: undefined,
      front: undefined,
    }
  }

  askAgain(): void {
    this.swarm?.askAgain()
  }

  placedElsewhere(chunks: Iterable<number>): void {
    this.swarm?.placedElsewhere(chunks)
  }

  completedElsewhere(piece: number): void {
    if (this.swarm) this.swarm.completedElsewhere(piece)
    else this.completed.push(piece)
  }

  tick(now: number): void {
    this.swarm?.tick(now)
  }

  result(): PeerSourceResult {
    return this.swarm?.result() ?? { wasted: 0, banned: [], trickled: [], uploaded: { lan: 0, wan: 0 }, peerRefusals: {} }
  }

  async stop(): Promise<void> {
    this.stopped = true
    await this.starting
    if (this.swarm) await this.swarm.stop()
    else {
      await this.scout?.stop()
      this.admission?.holder.stop()
    }
    this.settle?.resolve()
  }

  /** A peer is known: webtorrent takes the port, the waiting connections and the addresses. */
  private startSwarm(): void {
    if (this.starting || this.stopped || !this.scout) return
    const scout = this.scout
    this.starting = (async () => {
      const { startPeerSource } = await import('./peer-source.ts')
      if (this.stopped) return
      const { listener, port, incoming, peers } = scout.handOver()
      let swarm: PeerSource
      try {
        swarm = await startPeerSource({ ...this.o, peerId: this.peerId, listener, port, peers: [...this.o.peers, ...peers], neededPieces: this.o.neededNow() }, this.announce, this.admission)
      } catch (err) {
        dropHandOver({ listener, incoming })
        throw err
      }
      if (this.stopped) {
        for (const conn of incoming) conn.destroy()
        return swarm.stop()
      }
      this.swarm = swarm
      for (const piece of this.completed.splice(0)) swarm.completedElsewhere(piece)
      swarm.acceptIncoming(incoming)
      if (this.running) swarm.run().then(() => this.settle?.resolve(), (err: unknown) => this.settle?.reject(err))
      this.o.changed()
    })().catch((err: unknown) => {
      this.failure ??= err
      this.settle?.reject(err)
    })
  }
}
