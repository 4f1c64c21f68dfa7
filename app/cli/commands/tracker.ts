import { readFile } from 'node:fs/promises'
import { ShoalError } from '../../../shared/errors.ts'
import { MemoryStore } from '../../tracker/memory-store.ts'
import { RedisStore } from '../../tracker/redis-store.ts'
import { parseRedisTarget } from '../../tracker/redis-target.ts'
import { storeLimits, type TrackerStore } from '../../tracker/tracker-store.ts'
import { startTracker } from '../../tracker/tracker-server.ts'
import type { Output } from '../output.ts'
import { loadPrivateKey } from '../key-files.ts'

export interface TrackerFlags {
  readonly port: number
  readonly host: string
  readonly tokenFile: string | undefined
  /** The admission private key: serve peer passes and revocations. */
  readonly admissionKey: string | undefined
  readonly revoked: string | undefined
  /** Longest pass issued, in seconds. */
  readonly passSeconds: number
  /** Keep swarms in this Redis instead of in memory. */
  readonly redis: string | undefined
  readonly intervalMs: number
  readonly maxSwarms: number
}

/** How long the command waits for Redis before it starts anyway (announces then fail with a reason). */
const REDIS_WAIT_MS = 3000

async function openStore(out: Output, flags: TrackerFlags): Promise<TrackerStore> {
  const limits = storeLimits(flags.intervalMs, flags.maxSwarms)
  if (flags.redis === undefined) return new MemoryStore(limits)
  const parsed = parseRedisTarget(flags.redis)
  if (!parsed.ok) throw new ShoalError('E_USAGE', `--redis ${flags.redis}: ${parsed.reason}`, 'use redis://HOST:PORT, rediss://HOST:PORT (TLS) or redis+sentinel://HOST:PORT[,HOST:PORT]/NAME')
  const store = new RedisStore(parsed.target, limits)
  const problem = await store.ready(REDIS_WAIT_MS)
  // Redis may come up later: the tracker answers with the reason meanwhile, and reconnects by itself.
  if (problem !== undefined) {
    out.event('store', { ok: false, reason: problem })
    out.info(`${problem}; announces fail until it answers`)
  }
  return store
}

/** Runs the tracker until SIGINT or SIGTERM. */
export async function trackerCommand(out: Output, flags: TrackerFlags): Promise<void> {
  let token: string | undefined
  if (flags.tokenFile) {
    token = (await readFile(flags.tokenFile, 'utf8').catch(() => '')).trim()
    if (!token) throw new ShoalError('E_USAGE', `--token-file ${flags.tokenFile} is missing or empty`, 'put a random secret in it, e.g. `openssl rand -hex 32 > tracker.token`')
  }
  const admission = flags.admissionKey ? { admissionKey: await loadPrivateKey(flags.admissionKey, '--admission-key'), passSeconds: flags.passSeconds, revokedFile: flags.revoked } : undefined
  const store = await openStore(out, flags)
  const tracker = await startTracker({ port: flags.port, host: flags.host, token, intervalMs: flags.intervalMs, store, ...(admission ? { admission } : {}) }).catch(async (err: NodeJS.ErrnoException) => {
    await store.close()
    throw new ShoalError('E_IO', `cannot listen on ${flags.host}:${flags.port}: ${err.code ?? err.message}`, 'choose another --port or --host')
  })
  out.event('listening', { announce: tracker.announceUrl, token: token !== undefined, store: flags.redis === undefined ? 'memory' : 'redis', admission: admission !== undefined })
  out.info(`tracker listening: ${tracker.announceUrl}${token ? ' (announces need ?token=…)' : ''}, swarms in ${flags.redis === undefined ? 'memory' : 'Redis'}${admission ? `; issuing peer passes${token ? ' to token holders' : ' to anyone (no token)'}` : ''}; stop with Ctrl-C`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await tracker.close()
  out.event('stopped', {})
}
