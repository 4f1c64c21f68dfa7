// CLI commands that talk to a running `shoal agent` through its control API.
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Job, Settings, ShoalClient } from '../../../shared/api-contract.ts'
import { ShoalError } from '../../../shared/errors.ts'
import { formatBytes } from '../../../shared/units.ts'
import { agentClientFor } from '../../agent/agent-client.ts'
import type { JsonValue, Output } from '../output.ts'

const rate = (n: number | null) => (n === null ? 'unlimited' : `${formatBytes(n)}/s`)
const asJson = (v: unknown) => JSON.parse(JSON.stringify(v)) as Record<string, JsonValue>

/** ", 3 peers connected (1 outside the LAN)" while peers are connected. */
function connected(j: Job): string {
  const n = j.peers.lan + j.peers.wan
  return n === 0 ? '' : `, ${n} peer${n === 1 ? '' : 's'} connected${j.peers.wan > 0 ? ` (${j.peers.wan} outside the LAN)` : ''}`
}

function jobLine(j: Job): string {
  const pct = j.bytesTotal > 0 ? `${((100 * j.bytesDone) / j.bytesTotal).toFixed(0)}%` : '-'
  const speed = j.rates.cdn + j.rates.lan + j.rates.wan
  return `  ${j.id.slice(0, 8)}  ${j.productId.padEnd(14)} ${j.kind.padEnd(8)} ${j.state.padEnd(9)} ${pct.padStart(4)}  ${formatBytes(speed)}/s  cdn ${formatBytes(j.bytes.cdn)} peers ${formatBytes(j.bytes.lan + j.bytes.wan)} (${(100 * j.offload).toFixed(0)} % offload)${connected(j)}${j.detail ? `  ${j.detail}` : ''}${j.error ? `  ${j.error.code}: ${j.error.message}` : ''}`
}

export async function statusCommand(out: Output, dataDir: string): Promise<void> {
  const s = await agentClientFor(dataDir).status()
  if (out.json) return out.event('result', asJson(s))
  out.info(`shoal agent ${s.agentVersion}, up since ${s.startedAt}${s.paused ? ', all transfers PAUSED' : ''}`)
  out.info(`caps now: down ${rate(s.effectiveCaps.down)}, up ${rate(s.effectiveCaps.up)}`)
  if (s.sharing) out.info(s.sharing.uploading ? `sharing: on${s.sharing.seeding.length ? `, seeding ${s.sharing.seeding.join(', ')}` : ''}` : `sharing: off (${s.sharing.reason})`)
  for (const [product, problem] of Object.entries(s.sharing?.seedProblems ?? {})) out.info(`  not seeding ${product}: ${problem}`)
  const refused = Object.entries(s.sharing?.peerRefusals ?? {})
  if (refused.length > 0) out.info(`peers refused admission: ${refused.map(([reason, n]) => `${n} ${reason}`).join(', ')}`)
  if (s.policy.error) out.info(`policy: ${s.policy.error}`)
  else if (s.policy.loaded) out.info(`policy: ${s.policy.path} (locks ${s.locked.length} field(s))`)
  out.info(s.products.length ? 'products:' : 'no products yet (shoal add)')
  for (const p of s.products) out.info(`  ${p.id.padEnd(14)} ${p.state.padEnd(16)} installed ${p.installedVersion ?? '-'}${p.availableVersion ? `, available ${p.availableVersion}` : ''}  ${p.installDir}${p.managed ? '  (managed)' : ''}${p.error ? `  ${p.error.code}: ${p.error.message}` : ''}`)
  if (s.jobs.length) out.info('jobs:')
  for (const j of s.jobs) out.info(jobLine(j))
}

export interface AddFlags {
  readonly pubkey: string
  readonly dir: string
  readonly name?: string
  readonly mirror: string[]
  readonly install: boolean
  readonly background: boolean
}

export async function addCommand(out: Output, dataDir: string, channelUrl: string, flags: AddFlags): Promise<void> {
  const client = agentClientFor(dataDir)
  const publicKey = await readFile(flags.pubkey, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ShoalError('E_KEY', `cannot read --pubkey ${flags.pubkey}: ${err.code ?? err.message}`)
  })
  const product = await client.addProduct({ channelUrl, publicKey, installDir: resolve(flags.dir), mirrors: flags.mirror, ...(flags.name ? { name: flags.name } : {}) })
  const job = flags.install ? await client.createJob({ productId: product.id, kind: 'install', mode: flags.background ? 'background' : 'foreground' }) : undefined
  if (out.json) return out.event('result', { product: asJson(product), job: job ? asJson(job) : null })
  out.info(`added ${product.id} (${product.installDir})${job ? `; install job ${job.id.slice(0, 8)} queued` : ''}`)
}

/** A job named by (a prefix of) its id, or the open job of a product. */
async function findJob(client: ShoalClient, ref: string): Promise<Job> {
  const { jobs } = await client.status()
  const open = (j: Job) => j.state !== 'done' && j.state !== 'cancelled'
  const found = jobs.filter((j) => j.id.startsWith(ref)).concat(jobs.filter((j) => j.productId === ref && open(j)))
  const unique = [...new Map(found.map((j) => [j.id, j])).values()]
  if (unique.length !== 1) throw new ShoalError('E_USAGE', unique.length === 0 ? `no job or product matches "${ref}"` : `"${ref}" matches ${unique.length} jobs`, 'run shoal status to see job ids')
  return unique[0]!
}

export async function jobActionCommand(out: Output, dataDir: string, action: 'pause' | 'resume' | 'cancel', ref: string | undefined): Promise<void> {
  const client = agentClientFor(dataDir)
  if (ref === undefined) {
    if (action === 'cancel') throw new ShoalError('E_USAGE', 'cancel needs a job id or product id', 'run shoal status to see them')
    await client.setPausedAll(action === 'pause')
    if (out.json) return out.event('result', { paused: action === 'pause' })
    return out.info(action === 'pause' ? 'all transfers paused' : 'transfers resumed')
  }
  const job = await client.jobAction((await findJob(client, ref)).id, action)
  if (out.json) return out.event('result', asJson(job))
  out.info(jobLine(job).trim())
}

export interface CapsFlags {
  readonly down?: number | null
  readonly up?: number | null
  readonly cdn?: number | null
  readonly peersDown?: number | null
  readonly peersUp?: number | null
}

export async function capsCommand(out: Output, dataDir: string, flags: CapsFlags): Promise<void> {
  const client = agentClientFor(dataDir)
  const down: Partial<Settings['caps']['down']> = {}
  const up: Partial<Settings['caps']['up']> = {}
  if (flags.down !== undefined) down.global = flags.down
  if (flags.cdn !== undefined) down.cdn = flags.cdn
  if (flags.peersDown !== undefined) down.peers = flags.peersDown
  if (flags.up !== undefined) up.global = flags.up
  if (flags.peersUp !== undefined) up.peers = flags.peersUp
  const changed = Object.keys(down).length + Object.keys(up).length > 0
  const view = changed ? await client.patchSettings({ caps: { down, up } }) : await client.status()
  const c = view.settings.caps
  if (out.json) return out.event('result', { caps: asJson(c), locked: view.locked.filter((l) => l.startsWith('caps')) })
  out.info(`download: global ${rate(c.down.global)}, cdn ${rate(c.down.cdn)}, peers ${rate(c.down.peers)}`)
  out.info(`upload:   global ${rate(c.up.global)}, peers ${rate(c.up.peers)}`)
  const locked = view.locked.filter((l) => l.startsWith('caps'))
  if (locked.length) out.info(`locked by policy: ${locked.join(', ')}`)
}

export async function policyShowCommand(out: Output, dataDir: string): Promise<void> {
  const s = await agentClientFor(dataDir).status()
  if (out.json) return out.event('result', { policy: asJson(s.policy), locked: s.locked, settings: asJson(s.settings) })
  out.info(`policy file: ${s.policy.path} (${s.policy.error ? 'INVALID' : s.policy.loaded ? 'loaded' : 'none'})`)
  if (s.policy.error) out.info(`error: ${s.policy.error}`)
  out.info(s.locked.length ? `locked: ${s.locked.join(', ')}` : 'nothing is locked')
  out.info(`effective settings: ${JSON.stringify(s.settings, null, 2)}`)
}

export async function historyCommand(out: Output, dataDir: string): Promise<void> {
  const h = await agentClientFor(dataDir).history()
  if (out.json) return out.event('result', asJson(h))
  for (const m of h.monthly) out.info(`${m.month}: peers saved ${formatBytes(m.saved)} of CDN traffic, CDN ${formatBytes(m.cdn)}, uploaded ${formatBytes(m.uploaded)}`)
  for (const e of h.entries) out.info(`  ${e.finishedAt}  ${e.productId} ${e.fromVersion ? `${e.fromVersion} -> ` : ''}${e.version} in ${e.seconds.toFixed(1)} s: cdn ${formatBytes(e.bytes.cdn)}, peers ${formatBytes(e.bytes.lan + e.bytes.wan)}, local ${formatBytes(e.bytes.local)}`)
  if (h.entries.length === 0) out.info('no installs yet')
}
