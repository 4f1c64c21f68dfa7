// The figures a run reports: CDN egress as × the release, offload, completion times against
// a CDN-only run of the same clients, per-site WAN bytes, and the invariants the test checks.
import type { SimResult } from './simulator.ts'

export interface Percentiles {
  readonly p50: number
  readonly p90: number
  readonly p99: number
}

export interface Figures {
  readonly scenario: string
  readonly description: string
  readonly seed: number
  readonly clients: number
  readonly releaseBytes: number
  readonly pieces: number
  readonly completed: number
  readonly cdnTimesRelease: number
  /** Share of the bytes clients received that peers sent: 1 − CDN bytes / (clients × release). */
  readonly offloadPct: number
  /** Active download time, seconds. */
  readonly completionS: Percentiles
  readonly cdnOnlyCompletionS: Percentiles
  /** Each client's time over its own time in the CDN-only run. */
  readonly perClientRatio: Percentiles
  readonly cdnPieces: SimResult['cdnPieces']
  readonly peerBytes: SimResult['peerBytes']
  readonly siteWanTimesRelease?: { readonly maxDown: number; readonly medianDown: number; readonly maxUp: number; readonly perSiteDown: readonly number[] }
  readonly invariants: { readonly bytesConserved: boolean; readonly sentBytes: number; readonly usefulBytes: number; readonly wastedBytes: number; readonly doubleCounted: number; readonly unheldPieces: number; readonly everyClientCompleted: boolean }
  readonly simSeconds: number
}

export function percentiles(values: readonly number[]): Percentiles {
  const v = [...values].sort((a, b) => a - b)
  const at = (q: number) => (v.length === 0 ? NaN : v[Math.min(v.length - 1, Math.ceil(q * v.length) - 1)]!)
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99) }
}

export function figures(description: string, r: SimResult, cdnOnly: SimResult): Figures {
  const times = r.completionMs.filter((t): t is number => t !== undefined).map((t) => t / 1000)
  const baseline = cdnOnly.completionMs.filter((t): t is number => t !== undefined).map((t) => t / 1000)
  const ratios = r.completionMs.flatMap((t, i) => {
    const b = cdnOnly.completionMs[i]
    return t !== undefined && b !== undefined && b > 0 ? [t / b] : []
  })
  const release = r.releaseBytes
  const perSite = r.siteWan.map((w) => w.down / release)
  const sortedSites = [...perSite].sort((a, b) => a - b)
  return {
    scenario: r.scenario,
    description,
    seed: r.seed,
    clients: r.clients,
    releaseBytes: release,
    pieces: r.pieces,
    completed: r.completed,
    cdnTimesRelease: r.cdnBytes / release,
    offloadPct: 100 * (1 - r.cdnBytes / (r.clients * release)),
    completionS: percentiles(times),
    cdnOnlyCompletionS: percentiles(baseline),
    perClientRatio: percentiles(ratios),
    cdnPieces: r.cdnPieces,
    peerBytes: r.peerBytes,
    ...(r.siteWan.length > 0
      ? { siteWanTimesRelease: { maxDown: Math.max(...perSite), medianDown: sortedSites[Math.floor(sortedSites.length / 2)]!, maxUp: Math.max(...r.siteWan.map((w) => w.up / release)), perSiteDown: perSite } }
      : {}),
    invariants: {
      bytesConserved: Math.abs(r.sentBytes - r.usefulBytes - r.wastedBytes) <= 1e-9 * r.sentBytes + 1,
      sentBytes: r.sentBytes,
      usefulBytes: r.usefulBytes,
      wastedBytes: r.wastedBytes,
      doubleCounted: r.doubleCounted,
      unheldPieces: r.unheldPieces,
      everyClientCompleted: r.completed === r.clients && r.usefulBytes === r.clients * release,
    },
    simSeconds: r.simSeconds,
  }
}

const s = (x: number) => (x < 100 ? x.toFixed(1) : x.toFixed(0))

export function describe(f: Figures): string {
  const lines = [
    `${f.scenario} (seed ${f.seed}): ${f.description}`,
    `  completed ${f.completed}/${f.clients}; CDN egress ${f.cdnTimesRelease.toFixed(2)}x the release; offload ${f.offloadPct.toFixed(1)} %`,
    `  completion s p50/p90/p99 ${s(f.completionS.p50)} / ${s(f.completionS.p90)} / ${s(f.completionS.p99)}; CDN-only ${s(f.cdnOnlyCompletionS.p50)} / ${s(f.cdnOnlyCompletionS.p90)} / ${s(f.cdnOnlyCompletionS.p99)}; p99 ratio ${(f.completionS.p99 / f.cdnOnlyCompletionS.p99).toFixed(2)}x`,
    `  per-client time / its CDN-only time p50/p90/p99 ${f.perClientRatio.p50.toFixed(2)} / ${f.perClientRatio.p90.toFixed(2)} / ${f.perClientRatio.p99.toFixed(2)}`,
    `  CDN pieces by reason ${JSON.stringify(f.cdnPieces)}; peer bytes LAN ${(f.peerBytes.lan / f.releaseBytes).toFixed(1)}x, WAN ${(f.peerBytes.wan / f.releaseBytes).toFixed(1)}x the release`,
  ]
  if (f.siteWanTimesRelease) lines.push(`  site WAN down, x the release: max ${f.siteWanTimesRelease.maxDown.toFixed(2)}, median ${f.siteWanTimesRelease.medianDown.toFixed(2)}; WAN up max ${f.siteWanTimesRelease.maxUp.toFixed(2)}`)
  lines.push(`  invariants: bytes conserved ${f.invariants.bytesConserved}, pieces counted twice ${f.invariants.doubleCounted}, pieces from a peer that lacked them ${f.invariants.unheldPieces}, every client completed ${f.invariants.everyClientCompleted}; wasted ${(f.invariants.wastedBytes / f.releaseBytes).toFixed(3)}x the release`)
  return lines.join('\n')
}
