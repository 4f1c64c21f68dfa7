// The swarm phase of a job: peers first, the CDN scheduled beside them by the fetch session.
// webtorrent and its dependencies load only when a job has a swarm to ask.
import type { KeyObject } from 'node:crypto'
import type { Manifest } from '../../../shared/release-schema.ts'
import { localAddresses } from '../../net/local-addresses.ts'
import type { FinishBound } from '../../policy/finish-bound.ts'
import type { LiveLimits } from '../../policy/live-limits.ts'
import type { CdnReason } from '../scheduler/cdn-scheduler.ts'
import type { SwarmResult } from '../session/fetch-session.ts'
import { DEFAULT_MIN_RATE } from '../sources/cdn/trickle-rule.ts'
import { usesLanDiscovery } from '../sources/peers/discovery-policy.ts'
import type { PeerEncryption } from '../sources/peers/peer-settings.ts'
import { addRefusals } from '../sources/peers/refusals.ts'
import type { PeerClass } from '../stats/peer-class.ts'
import type { SourceBytes } from '../stats/source-bytes.ts'
import type { PeerFetch } from './stager.ts'

export interface SwarmSettings {
  readonly peers: readonly string[]
  readonly trackers: readonly string[]
  readonly trackerToken: string | undefined
  /** Peers that unchoked us and deliver nothing for this long count as gone: the CDN takes their pieces. */
  readonly stallMs: number
  /** Bytes per second the job holds by topping up from the CDN; 0: the finish bound decides. */
  readonly targetRate: number
  /** Without a target rate: how late the job may finish (see policy/finish-bound); undefined: the CDN only fills what peers cannot. */
  readonly finishBound?: FinishBound
  /** Until a peer has sent what it has, the CDN waits this long for discovery. */
  readonly discoveryMs: number
  /** Upload cap in bytes per second while the swarm runs; 0 is unlimited. */
  readonly limitUp: number
  /** Most peer connections at once, incoming included. */
  readonly maxPeers: number
  /** The address peers connect to; undefined listens on every interface. */
  readonly listenHost: string | undefined
  /** LAN discovery on or off; undefined leaves it to the release's scope. */
  readonly lsd?: boolean
  readonly encryption?: PeerEncryption
  /** The swarm's admission private key, on the operator's machines: they issue their own peer pass. */
  readonly admissionKey?: KeyObject | undefined
  /** How often the swarm's revocation list is fetched again. */
  readonly revocationCheckMs?: number | undefined
  /** Site or group id told to the tracker. */
  readonly site?: string | undefined
}

/** What the swarm phase adds to a job's result. */
export interface SwarmTally extends Omit<SwarmResult, 'wasted' | 'peerAuthError'> {
  peerAuthError: string | undefined
}

/** The job's settings the swarm phase reads. */
export interface SwarmPhaseOptions {
  readonly swarm?: SwarmSettings | undefined
  readonly publicKey: KeyObject
  readonly connections: number
  /** The window a trickling peer is judged over. */
  readonly stallMs: number
  readonly minRate?: number | undefined
  readonly signal?: AbortSignal | undefined
  readonly limits?: LiveLimits | undefined
}

/** The swarm phase of a job, when it has peers or trackers to ask: peers first, the CDN scheduled beside them. */
export function swarmFetch(
  o: SwarmPhaseOptions,
  manifest: Manifest,
  bytes: SourceBytes,
  tally: SwarmTally,
  onPeers: (peers: Record<PeerClass, number>) => void,
): PeerFetch | undefined {
  const s = o.swarm
  const lsd = usesLanDiscovery(manifest.scope, s?.lsd)
  if (!s || (s.peers.length === 0 && s.trackers.length === 0 && manifest.pack.announce.length === 0 && !lsd)) return undefined
  return async (pending, stagedAt, hooks) => {
    // webtorrent and its dependencies load only for a job that has a swarm.
    const { fetchFromSwarm } = await import('../session/fetch-session.ts')
    const got = await fetchFromSwarm({
      manifest,
      pending,
      stagedAt,
      ...hooks,
      peers: s.peers,
      trackers: s.trackers,
      trackerToken: s.trackerToken,
      stallMs: s.stallMs,
      minRate: o.minRate ?? DEFAULT_MIN_RATE,
      trickleWindowMs: o.stallMs,
      discoveryMs: s.discoveryMs,
      schedule: { targetRate: s.targetRate, cdnBudget: Infinity, maxCdnPieces: 2 * o.connections, endgamePieces: 2, horizonMs: 2000, ...(s.finishBound ? { finishBound: s.finishBound } : {}) },
      port: 0,
      limitUp: s.limitUp,
      maxPeers: s.maxPeers,
      listenHost: s.listenHost,
      lsd,
      encryption: s.encryption,
      publisherKey: o.publicKey,
      admissionKey: s.admissionKey,
      revocationCheckMs: s.revocationCheckMs,
      site: s.site,
      localAddresses: localAddresses(),
      onPeers,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.limits ? { limits: o.limits } : {}),
    })
    bytes.wasted += got.wasted
    tally.banned.push(...got.banned)
    tally.trickled.push(...got.trickled)
    for (const [reason, n] of Object.entries(got.cdnPieces)) tally.cdnPieces[reason as CdnReason] += n
    tally.uploaded.lan += got.uploaded.lan
    tally.uploaded.wan += got.uploaded.wan
    addRefusals(tally.peerRefusals, got.peerRefusals)
    tally.peerAuthError ??= got.peerAuthError
  }
}
