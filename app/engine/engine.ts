// The engine's one front door. Code outside app/engine/ (cli, agent, demo) imports only this
// file, so the engine's folders can be reorganised without touching its callers; lint refuses
// any other path into app/engine/ from there (eslint.config.js). Export here only what callers
// use today. The CLI imports this file on every start and an idle agent holds it, so its static
// exports are small modules (constants, paths, counters). Whatever moves bytes is reached
// through a loader, imported on first use: jobs (install-job.ts: the CDN sources, the planner,
// the stager, the worker pools), verification (verify-install.ts), and seeding
// (scouted-seeding.ts, then seed-job.ts -> webtorrent once a peer shows up). Nothing here may
// load webtorrent.
export { DEFAULT_CONNECTIONS } from './install/job-defaults.ts'
export type { JobOptions, JobResult } from './install/install-job.ts'
export { installPaths } from './install/install-paths.ts'
export type { FetchSample } from './sources/cdn/cdn-source.ts'
export { DEFAULT_MIN_RATE } from './sources/cdn/trickle-rule.ts'
export { classifyPeer } from './stats/peer-class.ts'
export { emptySourceBytes, offloadRatio } from './stats/source-bytes.ts'
export type { SourceBytes } from './stats/source-bytes.ts'
export { DEFAULT_MAX_PEERS, PEER_ENCRYPTION } from './sources/peers/peer-settings.ts'
export type { PeerEncryption } from './sources/peers/peer-settings.ts'
export type { Seeding } from './sources/peers/seed-release.ts'
export { addRefusals } from './sources/peers/refusals.ts'
export type { Refusals } from './sources/peers/refusals.ts'

/** install-job.ts (`getRelease`, `repairInstall`, `rollbackInstall`), loaded on first use. */
export const loadJobs = () => import('./install/install-job.ts')

/** verify-install.ts (`verifyInstall`), loaded on first use. */
export const loadVerify = () => import('./install/verify-install.ts')

/** release-record.ts (`adoptReleaseRecord`: follow a switch another data dir made), loaded on first use. */
export const loadReleaseRecord = () => import('./install/release-record.ts')

/** scouted-seeding.ts (`startSeeding`), loaded on first use; webtorrent loads when a peer shows up. */
export const loadSeeding = () => import('./sources/peers/scouted-seeding.ts')
