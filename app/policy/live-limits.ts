// The rates running transfers follow: the agent sets them (caps, schedule, background
// mode), and the CDN source and the swarm clients of a job read them as they change.
import { createBucket, setRate, type TokenBucket } from './token-bucket.ts'

/** Bytes per second; 0 is unlimited. */
export interface TransferRates {
  readonly cdnDown: number
  readonly peerDown: number
  readonly peerUp: number
  /** False when sharing is off or not allowed now (battery, metered, monthly cap): nothing goes up. */
  readonly uploadAllowed: boolean
  /** False when sharing is LAN only: peers outside the LAN may send to us but get nothing back. */
  readonly uploadWan: boolean
}

export class LiveLimits {
  /** Shared by every CDN source of every job, so the CDN cap holds across jobs. */
  readonly cdn: TokenBucket
  private current: TransferRates
  private readonly listeners = new Set<(rates: TransferRates) => void>()

  constructor(rates: TransferRates, now: number) {
    this.current = rates
    this.cdn = createBucket(rates.cdnDown, now)
  }

  get rates(): TransferRates {
    return this.current
  }

  set(rates: TransferRates, now: number): void {
    setRate(this.cdn, rates.cdnDown, now)
    const peersChanged = rates.peerDown !== this.current.peerDown || rates.peerUp !== this.current.peerUp || rates.uploadAllowed !== this.current.uploadAllowed || rates.uploadWan !== this.current.uploadWan
    this.current = rates
    if (peersChanged) for (const listener of this.listeners) listener(rates)
  }

  /** Calls `listener` now and on every change of the peer rates; returns the unsubscribe. */
  watchPeers(listener: (rates: TransferRates) => void): () => void {
    this.listeners.add(listener)
    listener(this.current)
    return () => this.listeners.delete(listener)
  }
}
