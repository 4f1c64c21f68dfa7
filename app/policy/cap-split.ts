// Splits a global download cap between the CDN and peers. They run at the same time in one
// job, through two limiters (our token bucket for ranges, webtorrent's throttle for wires),
// so each gets a share and the shares add up to the cap. Peers are preferred: their share
// follows what they carried lately plus headroom to grow, and the CDN keeps the rest, never
// less than a tenth, so the safety net is never starved. The upload cap is shared the same
// way by every webtorrent client that may upload (each seed and the running job has its own).
// Pure: rates in, rates out.
import type { EffectiveCaps } from './schedule.ts'

export interface DownSplit {
  /** Bytes per second; null is unlimited. */
  readonly cdnDown: number | null
  readonly peerDown: number | null
}

export interface SplitInputs {
  readonly caps: Pick<EffectiveCaps, 'down' | 'cdnDown' | 'peerDown'>
  /** Peer wires the running job has now; none means the CDN may take the whole cap. */
  readonly peersConnected: number
  /** Bytes per second peers delivered over the last seconds. */
  readonly peerRate: number
}

/** The CDN's floor and the peers' room to grow, as fractions of the global cap. */
export const CDN_FLOOR = 0.1
const PEER_HEADROOM = 0.25

export function splitDownCap(i: SplitInputs): DownSplit {
  const global = i.caps.down
  if (global === null || i.peersConnected === 0) return { cdnDown: i.caps.cdnDown, peerDown: i.caps.peerDown }
  const floor = CDN_FLOOR * global
  let peers = Math.min(global - floor, Math.max(floor, i.peerRate * (1 + PEER_HEADROOM) + floor))
  if (i.caps.peerDown !== null) peers = Math.min(peers, i.caps.peerDown)
  const cdn = global - peers
  return { cdnDown: Math.round(i.caps.cdnDown !== null ? Math.min(cdn, i.caps.cdnDown) : cdn), peerDown: Math.round(peers) }
}

/** Each uploader's share of the peer upload cap (null: unlimited); equal shares add up to the cap. */
export function shareUploadCap(peerUp: number | null, uploaders: number): number | null {
  return peerUp === null ? null : Math.floor(peerUp / Math.max(1, uploaders))
}
