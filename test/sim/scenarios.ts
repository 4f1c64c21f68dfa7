// The simulator's scenarios, each with its seed and every parameter stated. Rates are bytes
// per second; `Mbit` converts. The distributions are assumptions, stated here so a reader can
// argue with them: consumer links after typical fixed broadband (fast down, slower up), a
// CDN that gives one client less than its link on a busy day, 30 % of pairs unable to
// connect (libp2p's measured 70 % hole-punch success).
import { DEFAULT_FINISH_SLIP } from '../../app/policy/finish-bound.ts'
import type { Scenario } from './scenario.ts'

const Mbit = 125_000
const MiB = 1024 * 1024
const GiB = 1024 * MiB
const minute = 60_000
const hour = 60 * minute

/** Shared by the internet-scale scenarios; each overrides what it is about. */
const consumer: Omit<Scenario, 'name' | 'description' | 'seed' | 'releaseBytes' | 'clients' | 'joinOverMs' | 'seeders'> = {
  pieceLength: 4 * MiB,
  seederUp: { kind: 'const', value: 1000 * Mbit },
  down: { kind: 'lognormal', median: 150 * Mbit, sigma: 0.7, min: 10 * Mbit, max: 1000 * Mbit },
  up: { kind: 'lognormal', median: 40 * Mbit, sigma: 0.9, min: 2 * Mbit, max: 1000 * Mbit },
  cdnRate: { kind: 'lognormal', median: 60 * Mbit, sigma: 0.5, min: 5 * Mbit, max: 400 * Mbit },
  blockedPairs: 0.3,
  seedFor: { kind: 'exponential', mean: 2 * hour },
  pauseShare: 0.05,
  pauseFor: { kind: 'exponential', mean: 10 * minute },
  numwant: 50,
  announceIntervalMs: 10 * minute,
  maxPeers: 55,
  peerPieces: 8,
  maxCdnPieces: 8,
  endgamePieces: 2,
  horizonMs: 2000,
  mode: { kind: 'finish', bound: { slip: DEFAULT_FINISH_SLIP } },
  stepMs: 2000,
  decideEveryMs: 4000,
  sampleMs: minute,
}

export const launchDay: Scenario = {
  ...consumer,
  name: 'launch-day',
  description: '10,000 consumer clients join over one hour for a 50 GiB release, 20 initial seeders at 1 Gbit/s',
  seed: 16_001,
  releaseBytes: 50 * GiB,
  clients: 10_000,
  joinOverMs: hour,
  seeders: 20,
  stepMs: 10_000,
  decideEveryMs: 20_000,
}

export const enterprise: Scenario = {
  ...consumer,
  name: 'enterprise',
  description: '5,000 machines in 50 sites (1 Gbit/s LAN, 100 Mbit/s WAN each way), a 4 GiB OS update rolled out over two hours, no seeder but the CDN',
  seed: 16_002,
  releaseBytes: 4 * GiB,
  clients: 5_000,
  joinOverMs: 2 * hour,
  seeders: 0,
  cdnRate: { kind: 'lognormal', median: 200 * Mbit, sigma: 0.5, min: 20 * Mbit, max: 1000 * Mbit },
  sites: { count: 50, lanRate: 1000 * Mbit, wanDown: 100 * Mbit, wanUp: 100 * Mbit, total: Infinity },
  seedFor: { kind: 'exponential', mean: 8 * hour },
  stepMs: 1000,
  decideEveryMs: 2000,
}

export const flashCrowd: Scenario = {
  ...consumer,
  name: 'flash-crowd',
  description: '2,000 consumer clients join within 60 s for an 8 GiB release; no seeder but the CDN',
  seed: 16_003,
  releaseBytes: 8 * GiB,
  clients: 2_000,
  joinOverMs: minute,
  seeders: 0,
  stepMs: 1000,
  decideEveryMs: 2000,
  sampleMs: 10_000,
}

/** The invariant check in npm test: 100 clients, small release, every kind of event. */
export const small: Scenario = {
  ...consumer,
  name: 'small',
  description: '100 clients join over 2 minutes for a 256 MiB release, 2 seeders, some pause mid-way and come back',
  seed: 16_100,
  releaseBytes: 256 * MiB,
  clients: 100,
  joinOverMs: 2 * minute,
  seeders: 2,
  pauseShare: 0.1,
  pauseFor: { kind: 'exponential', mean: minute },
  seedFor: { kind: 'exponential', mean: 5 * minute },
  stepMs: 500,
  decideEveryMs: 1000,
  sampleMs: 10_000,
}

/** The same in 5 sites of 20 machines behind 100 Mbit/s WAN links, no seeder but the CDN. */
export const smallSites: Scenario = {
  ...small,
  name: 'small-sites',
  description: '100 machines in 5 sites (1 Gbit/s LAN, 100 Mbit/s WAN) join over 2 minutes for a 256 MiB release, no seeder',
  seed: 16_101,
  seeders: 0,
  sites: { count: 5, lanRate: 1000 * Mbit, wanDown: 100 * Mbit, wanUp: 100 * Mbit, total: Infinity },
}

// The loopback swarm bench (test/bench/swarm-bench.ts) at N = 8: nine processes on one
// 2-core machine, a 256 MiB release, nginx as the CDN. The machine is one site whose
// "total" is what its CPUs move at once: 100 MB/s, the aggregate Shoal reached in case (a)
// runs (53, 112 and 91 MB/s across three runs); one peer pair moves 62 MB/s (bench case d,
// plaintext) and a CDN-only get 287 MB/s (hybrid case 1). Everything else is loopback-fast.
const loopback: Scenario = {
  ...consumer,
  name: 'bench',
  description: '',
  seed: 16_200,
  releaseBytes: 256 * MiB,
  clients: 8,
  joinOverMs: 0,
  seeders: 0,
  seederUp: { kind: 'const', value: 62e6 },
  cdnRate: { kind: 'const', value: 287e6 },
  blockedPairs: 0,
  sites: { count: 1, lanRate: 287e6, wanDown: Infinity, wanUp: Infinity, total: 100e6 },
  seedFor: { kind: 'const', value: 1e12 },
  pauseShare: 0,
  mode: { kind: 'offload' },
  stepMs: 20,
  decideEveryMs: 100,
  sampleMs: 1000,
}

export const benchA: Scenario = { ...loopback, name: 'bench-a', description: 'swarm bench (a): 1 full seeder + 8 leechers starting together (no target: offload first)', seeders: 1 }
export const benchB: Scenario = { ...loopback, name: 'bench-b', description: 'swarm bench (b): 8 leechers 5 s apart, no seeder, each seeding once done', joinGapMs: 5000 }
export const benchC: Scenario = {
  ...loopback,
  name: 'bench-c',
  description: 'swarm bench (c): a seeder capped at 10 MB/s, one leecher with --target-rate 40MB',
  clients: 1,
  seeders: 1,
  seederUp: { kind: 'const', value: 10e6 },
  mode: { kind: 'target', rate: 40e6 },
}

export const scenarios: Record<string, Scenario> = Object.fromEntries([launchDay, enterprise, flashCrowd, small, smallSites, benchA, benchB, benchC].map((s) => [s.name, s]))

/**
 * What the loopback bench measured at N = 8 (README, "Bench", the run after the peer layer's
 * data path): CDN bytes as × the release and the job's time. Case (b)'s time is its slowest
 * leecher's job, measured later (2026-12-07: 3.1 and 2.9 s in two runs).
 */
export const benchMeasured: Record<string, { readonly cdnTimesRelease: number; readonly seconds: number }> = {
  'bench-a': { cdnTimesRelease: 0, seconds: 23.7 },
  'bench-b': { cdnTimesRelease: 1.0, seconds: 3.0 },
  // 87.5 % of 256 MiB from the CDN, 256 MiB at 87.9 MB/s.
  'bench-c': { cdnTimesRelease: 0.875, seconds: (256 * MiB) / 87.9e6 },
}
