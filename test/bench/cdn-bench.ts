// CDN-engine figures, each side by side with a reference tool on the same nginx in the same run:
// a verified install against aria2c and curl, update bytes against zsync, `zstd --patch-from` and
// bsdiff (update-bench.ts), and resume latency.
import { createPrivateKey } from 'node:crypto'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { formatBytes } from '../../shared/units.ts'
import { seededBytes } from '../../app/demo/sample-build.ts'
import { publish } from '../../app/release/publish.ts'
import { generateKeyPair } from '../../app/release/signing.ts'
import type { ReleaseScope } from '../../shared/release-schema.ts'
import { startNginx } from '../support/nginx.ts'
import { cpuOf, run, timeIt, type Cpu } from './measure.ts'
import { freshGet, shoalGet } from './shoal-get.ts'
import { updateBench, type UpdatePair } from './update-bench.ts'


const loadAverage = () => loadavg().map((l) => l.toFixed(1)).join(' ')
const range = (xs: number[]) => (Math.min(...xs) === Math.max(...xs) ? xs[0]!.toFixed(2) : `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`)

export interface CdnBenchOptions {
  readonly work: string
  readonly size: number
  readonly resumeSize: number
  readonly repeat: number
  /** Which figures: install (against aria2c and curl), update (bytes against zsync, zstd and bsdiff), resume. */
  readonly cases: readonly string[]
  readonly updatePairs: readonly UpdatePair[]
}

interface Publisher {
  readonly pubPath: string
  /** The private key: benches' trackers issue peer passes with it (the publisher is the admission authority). */
  readonly keyPath: string
  publish(build: string, cdn: string, version: string, channel: string, o?: { trackers?: readonly string[]; scope?: ReleaseScope; product?: string }): Promise<void>
}

/** A publisher with a fresh key; releases are `private` and carry `o.trackers` as their announce URLs. */
export async function publisher(work: string): Promise<Publisher> {
  const pair = generateKeyPair()
  const pubPath = join(work, 'publisher.pub')
  const keyPath = join(work, 'publisher.key')
  await writeFile(pubPath, pair.publicPem)
  await writeFile(keyPath, pair.privatePem, { mode: 0o600 })
  const privateKey = createPrivateKey(pair.privatePem)
  return {
    pubPath,
    keyPath,
    publish: async (buildDir, cdnRoot, version, channel, o = {}) => {
      await publish({ buildDir, product: o.product ?? 'bench', version, channel, privateKey, cdnRoot, trackers: [...(o.trackers ?? [])], mirrors: [], scope: o.scope ?? 'private', pieceLength: undefined, chunking: {}, expiresInMs: 86_400_000, allowDowngrade: false, now: () => new Date() })
    },
  }
}

/** (a) A verified, fsynced install of `size` incompressible bytes against plain downloads of the store. */
async function installVsDownloaders(o: CdnBenchOptions, results: Record<string, unknown>): Promise<void> {
  const work = join(o.work, 'install')
  const build = join(work, 'build')
  await mkdir(build, { recursive: true })
  const files = 4
  for (let i = 0; i < files; i++) await writeFile(join(build, `asset${i}.pak`), seededBytes(`cdn-bench-${i}`, o.size / files))
  const p = await publisher(work)
  await p.publish(build, join(work, 'cdn'), '1.0.0', 'stable')
  await rm(build, { recursive: true })
  const nginx = await startNginx(join(work, 'cdn'), join(work, 'nginx'))
  try {
    const store = `${nginx.url}/bench/1.0.0/pack.chunks`
    const rss = new Map<string, number[]>()
    const cpu = new Map<string, Cpu[]>()
    const shoal = (name: string, extra: string[]) => async () => {
      const done = await freshGet(nginx, p.pubPath, work, name, { extra })
      rss.set(name, [...(rss.get(name) ?? []), done['peakRssBytes'] as number])
      return done['cpuSeconds'] as Cpu
    }
    // One untimed install first: it fills Node's compile cache, as the first run on a user's machine
    // does (that run also loads Node's TypeScript stripper: 5-6 MiB more memory, once).
    await freshGet(nginx, p.pubPath, work, 'warm-up')
    for (const p of ['warm-up', 'warm-up-data']) await rm(join(work, p), { recursive: true, force: true })
    const aria2c = (out: string) => ['-x8', '-s8', '-q', '--allow-overwrite=true', '--file-allocation=none', '-d', work, '-o', out, store]
    const sides: [string, () => Promise<Cpu | undefined>][] = [
      ['shoal get (4 connections)', shoal('i4', [])],
      ['shoal get (8 connections)', shoal('i8', ['--connections', '8'])],
      ['aria2c -x8', () => cpuOf(['aria2c', ...aria2c('aria2.bin')])],
      ['curl', () => cpuOf(['curl', '-sf', '-o', join(work, 'curl.bin'), store])],
      // An install must be on disk before it is switched in; aria2c never fsyncs. This row makes it durable too.
      ['aria2c -x8, then sync', async () => (await run('aria2c', aria2c('aria2s.bin')), await run('sync'), undefined)],
    ]
    const times = new Map<string, number[]>(sides.map(([name]) => [name, []]))
    // Interleaved rounds, so drift in the machine's state hits every side alike.
    for (let r = 0; r < o.repeat; r++) {
      for (const [name, fn] of sides) {
        await run('sync')
        let used: Cpu | undefined
        times.get(name)!.push((await timeIt(1, async () => (used = await fn()))).median)
        if (used) cpu.set(name, [...(cpu.get(name) ?? []), used])
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    const aria = median(times.get('aria2c -x8')!)
    console.log(`\nverified install of ${formatBytes(o.size)} from nginx (median of ${o.repeat}; shoal verifies, fsyncs and switches; aria2c and curl only download; load average ${loadAverage()}):`)
    const rows: Record<string, unknown> = {}
    for (const [name, xs] of times) {
      const t = median(xs)
      const used = cpu.get(name)
      const cpuText = used ? `  CPU user ${range(used.map((c) => c.user))} s, system ${range(used.map((c) => c.system))} s` : ''
      rows[name] = { seconds: t, runs: xs, MBps: o.size / 1e6 / t, vsAria2c: t / aria, ...(used ? { cpuSeconds: used } : {}) }
      console.log(`  ${name.padEnd(26)} ${t.toFixed(2)} s  ${(o.size / 1e6 / t).toFixed(0).padStart(5)} MB/s  ${(t / aria).toFixed(2)}x aria2c's time${cpuText}  (runs: ${xs.map((x) => x.toFixed(2)).join(', ')} s)`)
    }
    rows['peakRssBytes'] = Math.max(...rss.get('i4')!)
    rows['peakRssBytes8'] = Math.max(...rss.get('i8')!)
    rows['loadAverage'] = loadAverage()
    for (const [name, runs] of rss) console.log(`  shoal peak RSS, ${name === 'i4' ? '4 connections (the default)' : '8 connections'}: ${formatBytes(Math.max(...runs))} (each run: ${runs.map((b) => formatBytes(b)).join(', ')})`)
    results['cdnInstall'] = rows
  } finally {
    await nginx.stop()
    await rm(work, { recursive: true, force: true })
  }
}

/** (c) A job killed half-way: how long the rerun takes to receive its first new byte, against a fresh start. */
async function resumeLatency(o: CdnBenchOptions, results: Record<string, unknown>): Promise<void> {
  const work = join(o.work, 'resume')
  const build = join(work, 'build')
  await mkdir(build, { recursive: true })
  const files = Math.max(1, Math.round(o.resumeSize / 2 ** 30))
  for (let i = 0; i < files; i++) await writeFile(join(build, `asset${i}.pak`), seededBytes(`resume-${i}`, o.resumeSize / files))
  const p = await publisher(work)
  await p.publish(build, join(work, 'cdn'), '1.0.0', 'stable')
  await rm(build, { recursive: true })
  const nginx = await startNginx(join(work, 'cdn'), join(work, 'nginx'))
  try {
    const args = [`${nginx.url}/bench/channels/stable.json`, '--pubkey', p.pubPath, '--dir', join(work, 'install')]
    const data = join(work, 'data')
    const firstByte = async (): Promise<number> => {
      let at = -1
      const job = shoalGet(args, data, (e, s) => {
        if (at < 0 && e['event'] === 'progress' && ((e['bytes'] as { cdn: number }).cdn ?? 0) > 0) {
          at = s
          job.kill()
        }
      })
      await job.done
      return at
    }
    const fresh = await firstByte()
    await rm(join(work, 'install'), { recursive: true, force: true })
    // Run until half the release has arrived, then kill -9.
    const half = shoalGet(args, data, (e) => {
      if (e['event'] === 'progress' && (e['done'] as number) >= o.resumeSize / 2) half.kill()
    })
    await half.done
    const resumed = await firstByte()
    results['resume'] = { size: o.resumeSize, freshFirstByteSeconds: fresh, resumedFirstByteSeconds: resumed }
    console.log(`\nresume of a half-done ${formatBytes(o.resumeSize)} job: first new byte after ${resumed.toFixed(2)} s (a fresh start: ${fresh.toFixed(2)} s)`)
  } finally {
    await nginx.stop()
    await rm(work, { recursive: true, force: true })
  }
}

export async function cdnBench(o: CdnBenchOptions, results: Record<string, unknown>): Promise<void> {
  if (o.cases.includes('install')) await installVsDownloaders(o, results)
  if (o.cases.includes('update')) await updateBench({ work: o.work, pairs: o.updatePairs }, results)
  if (o.cases.includes('resume')) await resumeLatency(o, results)
}
