// The rates running transfers follow, from the caps in force, what the running jobs see
// (peers, peer rate, background mode's controller), the seeds and the sharing decision.
// Pure: the agent gathers the inputs every 500 ms and hands the result to LiveLimits.
import { shareUploadCap, splitDownCap } from './cap-split.ts'
import type { TransferRates } from './live-limits.ts'
import type { EffectiveCaps } from './schedule.ts'
import type { SharingDecision } from './sharing.ts'

export interface RunningTransfer {
  readonly peersConnected: number
  /** Bytes per second peers delivered lately. */
  readonly peerRate: number
  /** Background mode's CDN rate, when the job runs in background mode. */
  readonly ledbatRate: number | undefined
}

export interface RateInputs {
  readonly caps: EffectiveCaps
  readonly running: readonly RunningTransfer[]
  /** Releases being seeded, each by its own client. */
  readonly seeds: number
  readonly sharing: SharingDecision
}

export function transferRates(i: RateInputs): TransferRates {
  const sum = (f: (r: RunningTransfer) => number) => i.running.reduce((n, r) => n + f(r), 0)
  const split = splitDownCap({ caps: i.caps, peersConnected: sum((r) => r.peersConnected), peerRate: sum((r) => r.peerRate) })
  const ledbat = i.running.flatMap((r) => (r.ledbatRate !== undefined ? [r.ledbatRate] : []))
  let cdn = split.cdnDown ?? 0
  if (ledbat.length > 0) cdn = Math.min(cdn > 0 ? cdn : Infinity, ...ledbat)
  const uploaders = i.seeds + (i.sharing.upload ? i.running.length : 0)
  return {
    cdnDown: Math.round(cdn),
    peerDown: split.peerDown ?? 0,
    peerUp: shareUploadCap(i.caps.peerUp, uploaders) ?? 0,
    uploadAllowed: i.sharing.upload,
    uploadWan: i.sharing.wan,
  }
}
