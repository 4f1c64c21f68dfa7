// Tracker figures (issue 15): the same load generator (announce-load.ts) against
// `shoal tracker` in memory, over Redis with one and with three instances, and Debian's
// opentracker, in one run on loopback. Announces per second and p99 of the second round
// (every peer re-announcing), and memory per 100k peers after the first (Node RSS of the
// instances, plus Redis used_memory; opentracker's RSS).
import { spawn } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { formatBytes } from '../../shared/units.ts'
import { freePort } from '../support/free-port.ts'
import { startRedis, type TestRedis } from '../support/redis-server.ts'
import { swarmHashes, type LoadPlan, type RoundResult } from './announce-load.ts'
import { jsonProcess, type JsonProcess } from './json-process.ts'

const CLI = fileURLToPath(new URL('../../app/cli/shoal.ts', import.meta.url))
const LOAD = fileURLToPath(new URL('./announce-load.ts', import.meta.url))

export interface TrackerBenchOptions {
  readonly work: string
  readonly peers: number
  readonly swarms: number
  readonly connections: number
}

interface Target {
  readonly name: string
  readonly keepAlive: boolean
  readonly urls: readonly string[]
  readonly pids: readonly number[]
  stop(): Promise<void>
}

/** CPU seconds a process has used (user + system), from /proc: robust to other work on the machine. */
async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // utime and stime are fields 14 and 15 of stat(5), in ticks of 1/100 s on Linux.
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100
}

async function rssOf(pid: number): Promise<number> {
  const kib = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''))?.[1]
  return Number(kib ?? 0) * 1024
}

async function shoalTrackers(name: string, count: number, redis: string | undefined): Promise<Target> {
  const procs: JsonProcess[] = []
  for (let i = 0; i < count; i++) {
    // The swarm cap is the default (10,000): the bench's 1,000 swarms sit well inside it.
    procs.push(jsonProcess(process.execPath, [CLI, 'tracker', '--port', '0', '--json', ...(redis ? ['--redis', redis] : [])]))
  }
  const urls = await Promise.all(procs.map(async (p) => (await p.waitFor('listening'))['announce'] as string))
  return { name, keepAlive: true, urls, pids: procs.map((p) => p.pid), stop: async () => void (await Promise.all(procs.map((p) => p.stop()))) }
}

/** Debian's opentracker, whitelisting the bench's swarms (its package is built with a whitelist). */
async function opentracker(work: string, swarms: number): Promise<Target> {
  const dir = join(work, 'opentracker')
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'whitelist.txt'), swarmHashes(swarms).join('\n') + '\n')
  await writeFile(join(dir, 'opentracker.conf'), 'access.whitelist whitelist.txt\n')
  const port = await freePort()
  // It chroots into -d and drops to -u when started as root; the whitelist path is inside.
  const child = spawn('opentracker', ['-i', '127.0.0.1', '-p', String(port), '-P', String(port), '-f', 'opentracker.conf', '-d', dir, '-u', 'nobody'], { cwd: dir, stdio: 'ignore' })
  const exited = new Promise((r) => child.once('exit', r))
  for (let i = 0; i < 50; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/stats`).then(() => true, () => false)
    if (ok) break
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    name: 'opentracker (Debian)',
    keepAlive: false,
    urls: [`http://127.0.0.1:${port}/announce`],
    pids: [child.pid ?? -1],
    stop: async () => {
      child.kill('SIGTERM')
      await exited
    },
  }
}

/** One round of announces from a fresh generator process. */
async function load(plan: LoadPlan): Promise<RoundResult> {
  const gen = jsonProcess(process.execPath, [LOAD, JSON.stringify(plan)])
  const round = (await gen.waitFor('round')) as unknown as RoundResult
  await gen.exit
  return round
}

interface Row {
  readonly name: string
  readonly fill: RoundResult
  readonly steady: RoundResult
  readonly rssBytes: number
  readonly redisBytes: number | undefined
  /** CPU time per announce in the steady round: the tracker processes, and Redis. */
  readonly trackerCpuUs: number
  readonly redisCpuUs: number | undefined
}

export async function trackerBench(o: TrackerBenchOptions, results: Record<string, unknown>): Promise<void> {
  const redis: TestRedis = await startRedis()
  const client = new Redis(redis.url)
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1])
  const rows: Row[] = []
  try {
    const targets: (() => Promise<Target>)[] = [
      () => shoalTrackers('shoal, memory, 1 instance', 1, undefined),
      () => shoalTrackers('shoal, Redis, 1 instance', 1, redis.url),
      () => shoalTrackers('shoal, Redis, 3 instances', 3, redis.url),
      () => opentracker(o.work, o.swarms),
    ]
    console.log(`\nTracker: ${o.peers.toLocaleString('en')} peers in ${o.swarms.toLocaleString('en')} swarms, ${o.connections} connections, each announcing twice (started, then a re-announce: the figures), numwant 50`)
    for (const make of targets) {
      await client.flushall()
      const before = await usedMemory()
      const target = await make()
      try {
        const plan: LoadPlan = { targets: target.urls, peers: o.peers, swarms: o.swarms, event: 'started', connections: o.connections, deadlineMs: 180_000, extra: '', keepAlive: target.keepAlive }
        const fill = await load(plan)
        const rssBytes = (await Promise.all(target.pids.map(rssOf))).reduce((a, b) => a + b, 0)
        const redisBytes = target.name.includes('Redis') ? (await usedMemory()) - before : undefined
        const usesRedis = redisBytes !== undefined
        const cpu = async () => ({ tracker: (await Promise.all(target.pids.map(cpuSecondsOf))).reduce((a, b) => a + b, 0), redis: usesRedis ? await cpuSecondsOf(redis.pid()) : 0 })
        const cpuBefore = await cpu()
        const steady = await load({ ...plan, event: '' })
        const cpuAfter = await cpu()
        const perAnnounce = (s: number) => (s * 1e6) / steady.announces
        const row: Row = { name: target.name, fill, steady, rssBytes, redisBytes, trackerCpuUs: perAnnounce(cpuAfter.tracker - cpuBefore.tracker), redisCpuUs: usesRedis ? perAnnounce(cpuAfter.redis - cpuBefore.redis) : undefined }
        rows.push(row)
        const perPeer = (n: number) => `${(n / o.peers).toFixed(0)} B/peer`
        console.log(
          `  ${row.name.padEnd(28)} ${row.steady.perSecond.toFixed(0).padStart(6)} announces/s  p50 ${row.steady.p50Ms.toFixed(1)} ms  p99 ${row.steady.p99Ms.toFixed(1)} ms` +
            `  (fill ${row.fill.perSecond.toFixed(0)}/s, p99 ${row.fill.p99Ms.toFixed(1)} ms)  RSS ${formatBytes(rssBytes)}` +
            (redisBytes !== undefined ? `  Redis +${formatBytes(redisBytes)} (${perPeer(redisBytes)})` : '') +
            `  CPU/announce ${row.trackerCpuUs.toFixed(0)} µs` +
            (row.redisCpuUs !== undefined ? ` + Redis ${row.redisCpuUs.toFixed(0)} µs` : '') +
            ` (generator ${row.steady.generatorCpuUs.toFixed(0)} µs)` +
            (row.fill.failures + row.steady.failures > 0 ? `  FAILURES ${row.fill.failures + row.steady.failures}` : ''),
        )
      } finally {
        await target.stop()
      }
    }
    const ot = rows.find((r) => r.name.startsWith('opentracker'))
    if (ot) for (const r of rows) if (r !== ot) console.log(`  ${r.name}: ${(r.steady.perSecond / ot.steady.perSecond).toFixed(2)}x opentracker's announces/s`)
    results['tracker'] = { peers: o.peers, swarms: o.swarms, connections: o.connections, rows }
  } finally {
    client.disconnect()
    await redis.dispose()
  }
}
