// Swarm figures, side by side in one run on the same files, the same nginx and the same
// tracker, counting the CDN's bytes from nginx's access log:
// (a) 1 full seeder + N leechers starting together: CDN share, Shoal against stock webtorrent
//     with the CDN as a web seed; (b) N leechers 5 s apart, no seeder: CDN bytes as x release;
// (c) peers capped at 10 MB/s with a 40 MB/s target: achieved rate / target and CDN share.
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { formatBytes } from '../../shared/units.ts'
import { startNginx, type Nginx } from '../support/nginx.ts'
import { readPublishedManifest, writeRawPack } from '../support/raw-pack.ts'
import { publisher } from './cdn-bench.ts'
import { jsonProcess, type JsonEvent, type JsonProcess } from './json-process.ts'
import { randomBuild } from './measure.ts'

const CLI = fileURLToPath(new URL('../../app/cli/shoal.ts', import.meta.url))
const STOCK = fileURLToPath(new URL('./stock-webtorrent.ts', import.meta.url))

export interface SwarmBenchOptions {
  readonly work: string
  readonly size: number
  readonly leechers: number
  /** Which cases to run: any of "a", "b", "c". */
  readonly cases: readonly string[]
}

type Event = JsonEvent
type Proc = JsonProcess

const start = (script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Proc => jsonProcess(process.execPath, [script, ...args], { ...process.env, ...env })

const shoal = (args: readonly string[], dataDir: string) => start(CLI, [...args, '--json'], { SHOAL_DATA_DIR: dataDir })

interface Setup {
  readonly nginx: Nginx
  readonly channel: string
  readonly pub: string
  readonly seedInstall: string
  readonly seedData: string
  readonly tracker: string
  readonly torrent: string
  readonly rawDir: string
  readonly rawUrl: string
  stop(): Promise<void>
}

async function setup(o: SwarmBenchOptions): Promise<Setup> {
  const build = join(o.work, 'build')
  await randomBuild(build, 'swarm-bench', o.size)
  const p = await publisher(o.work)
  const cdn = join(o.work, 'cdn')
  await p.publish(build, cdn, '1.0.0', 'stable')
  await rm(build, { recursive: true })
  const nginx = await startNginx(cdn, join(o.work, 'nginx'))
  const channel = `${nginx.url}/bench/channels/stable.json`
  const seedInstall = join(o.work, 'seed')
  const seedData = join(o.work, 'seed-data')
  const got = shoal(['get', channel, '--pubkey', p.pubPath, '--dir', seedInstall], seedData)
  if ((await got.exit).code !== 0) throw new Error('the seeder install failed')
  // The tracker is also the control service: it issues peer passes (open enrollment, no token).
  const trackerProc = shoal(['tracker', '--port', '0', '--admission-key', p.keyPath], join(o.work, 'tracker-data'))
  const tracker = (await trackerProc.waitFor('listening'))['announce'] as string
  // Stock webtorrent seeds and web-seeds a plain file: the raw pack, rebuilt from the install.
  const manifest = await readPublishedManifest(cdn, 'bench', '1.0.0', p.pubPath)
  const rawDir = join(o.work, 'raw-seed')
  await mkdir(rawDir, { recursive: true })
  await mkdir(join(cdn, 'raw'), { recursive: true })
  await writeRawPack(manifest, seedInstall, join(rawDir, manifest.pack.name))
  await writeRawPack(manifest, seedInstall, join(cdn, 'raw', manifest.pack.name))
  return {
    nginx,
    channel,
    pub: p.pubPath,
    seedInstall,
    seedData,
    tracker,
    torrent: join(cdn, 'bench', '1.0.0', 'pack.torrent'),
    rawDir,
    rawUrl: `${nginx.url}/raw/${encodeURIComponent(manifest.pack.name)}`,
    stop: async () => {
      await trackerProc.stop()
      await nginx.stop()
    },
  }
}

interface Row {
  readonly cdnBytes: number
  readonly cdnShare: number
  readonly seconds: number
  readonly aggregateMBps: number
  readonly peakRssBytes: number[]
  /** Each leecher's own job time, from its done line. */
  readonly jobSeconds: number[]
  /** Pieces each leecher's scheduler gave the CDN, by reason. */
  readonly cdnPieces: unknown[]
}

/** Runs leechers, started `gapMs` apart, and measures the CDN bytes (from `logFilter` in nginx's log) while they work. */
async function leechers(s: Setup, n: number, gapMs: number, logFilter: RegExp, startOne: (i: number) => Proc, size: number): Promise<Row> {
  const before = await s.nginx.bodyBytesSent(logFilter)
  const started = performance.now()
  const procs: Proc[] = []
  const done: Promise<Event>[] = []
  for (let i = 0; i < n; i++) {
    if (i > 0 && gapMs > 0) await sleep(gapMs)
    const p = startOne(i)
    procs.push(p)
    done.push(p.waitFor('done'))
  }
  const events = await Promise.all(done)
  const seconds = (performance.now() - started) / 1000
  for (const p of procs) await p.stop()
  const cdnBytes = (await s.nginx.bodyBytesSent(logFilter)) - before
  return { cdnBytes, cdnShare: cdnBytes / (n * size), seconds, aggregateMBps: (n * size) / 1e6 / seconds, peakRssBytes: events.map((e) => e['peakRssBytes'] as number), jobSeconds: events.map((e) => e['seconds'] as number), cdnPieces: events.map((e) => e['cdnPieces']) }
}

const PACK = /pack\.chunks/
const RAW = /\/raw\//

export async function swarmBench(o: SwarmBenchOptions, results: Record<string, unknown>): Promise<void> {
  const work = join(o.work, 'swarm')
  const s = await setup({ ...o, work })
  const dirs = (name: string, i: number) => [join(work, `${name}-${i}`), join(work, `${name}-${i}-data`)] as const
  const shoalLeecher = (name: string, extra: readonly string[] = []) => (i: number) => {
    const [dir, data] = dirs(name, i)
    return shoal(['get', s.channel, '--pubkey', s.pub, '--dir', dir, '--tracker', s.tracker, ...extra], data)
  }
  const stockLeecher = (i: number) => start(STOCK, ['--mode', 'leech', '--torrent', s.torrent, '--dir', dirs('stock', i)[0], '--tracker', s.tracker, '--web-seed', s.rawUrl])
  const mib = formatBytes(o.size)
  const line = (name: string, r: Row) =>
    console.log(`  ${name.padEnd(34)} CDN ${formatBytes(r.cdnBytes).padEnd(10)} ${(100 * r.cdnShare).toFixed(1).padStart(5)} % of leecher bytes  ${r.seconds.toFixed(1).padStart(5)} s  ${r.aggregateMBps.toFixed(0).padStart(4)} MB/s aggregate  peak RSS per client ${formatBytes(Math.max(...r.peakRssBytes))}`)
  try {
    console.log(`\nswarm, ${mib} release, nginx bytes from its access log:`)
    const rows: Record<string, unknown> = { size: o.size, leechers: o.leechers }
    results['swarm'] = rows
    // (a) one full seeder, leechers together.
    if (o.cases.includes('a')) {
    const seed = shoal(['seed', '--dir', s.seedInstall, '--pubkey', s.pub, '--tracker', s.tracker], s.seedData)
    await seed.waitFor('seeding')
    const a = await leechers(s, o.leechers, 0, PACK, shoalLeecher('a'), o.size)
    await seed.stop()
    const stockSeed = start(STOCK, ['--mode', 'seed', '--torrent', s.torrent, '--dir', s.rawDir, '--tracker', s.tracker])
    await stockSeed.waitFor('seeding')
    const aStock = await leechers(s, o.leechers, 0, RAW, stockLeecher, o.size)
    await stockSeed.stop()
    console.log(`(a) 1 seeder + ${o.leechers} leechers starting together (goal: CDN share <= 3 %)`)
    line('shoal', a)
    line('stock webtorrent + web seed', aStock)
    rows['togetherWithSeeder'] = { shoal: a, stockWebtorrent: aStock }
    }

    // (b) no seeder, leechers 5 s apart, each seeding once done.
    if (o.cases.includes('b')) {
    const b = await leechers(s, o.leechers, 5000, PACK, shoalLeecher('b', ['--seed']), o.size)
    console.log(`(b) ${o.leechers} leechers 5 s apart, no seeder (goal: CDN bytes <= 1.15x the release)`)
    line('shoal', b)
    console.log(`  CDN bytes = ${(b.cdnBytes / o.size).toFixed(2)}x the release; each leecher's job ${b.jobSeconds.map((t) => t.toFixed(1)).join(' / ')} s`)
    rows['staggeredNoSeeder'] = { ...b, cdnTimesRelease: b.cdnBytes / o.size }
    }

    // (c) a seeder capped at 10 MB/s, one leecher holding 40 MB/s.
    if (o.cases.includes('c')) {
    const target = 40e6
    const capped = shoal(['seed', '--dir', s.seedInstall, '--pubkey', s.pub, '--tracker', s.tracker, '--limit-up', '10MB'], s.seedData)
    await capped.waitFor('seeding')
    const c = await leechers(s, 1, 0, PACK, shoalLeecher('c', ['--target-rate', '40MB']), o.size)
    await capped.stop()
    const achieved = o.size / c.jobSeconds[0]!
    console.log(`(c) peers capped at 10 MB/s, target 40 MB/s (goal: achieved / target >= 0.95)`)
    line('shoal', c)
    console.log(`  achieved ${(achieved / 1e6).toFixed(1)} MB/s = ${(achieved / target).toFixed(2)}x the target`)
    rows['cappedPeersWithTarget'] = { ...c, targetMBps: target / 1e6, achievedMBps: achieved / 1e6, achievedOverTarget: achieved / target }
    }
  } finally {
    await s.stop()
    await rm(work, { recursive: true, force: true })
  }
}
