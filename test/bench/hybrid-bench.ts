// Hybrid figures (issue 13): a release published with a tracker, so every client runs its swarm.
// Each time is a whole-process wall time, from spawn to exit, as a user sees it, side by side with
// a reference in the same run:
// (1) no peer anywhere: `shoal get` against `aria2c -x8` on the same nginx;
// (2) one seeder -> one leecher, the CDN refusing the pack: Shoal against libtorrent;
// (3) one seeder + N leechers starting together, the CDN refusing the pack: aggregate MB/s;
// (4) the peer transport: seeder -> leecher over TLS 1.3 with admission (private and lan
//     releases) against the same bytes published public, over plain BitTorrent and over MSE;
// (5) as (3) with the seeder's upload capped on both sides, so the leechers must trade.
// Bytes written to disk per byte installed (`writtenToDisk`) come with every Shoal install.
import { createPrivateKey, generateKeyPairSync } from 'node:crypto'
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { formatBytes } from '../../shared/units.ts'
import { launcherEnv, SHOAL_LAUNCHER } from '../../app/cli/launcher.ts'
import { startNginx, type Nginx } from '../support/nginx.ts'
import { readPublishedManifest, writeRawPack } from '../support/raw-pack.ts'
import { publisher } from './cdn-bench.ts'
import { startLibtorrent } from './libtorrent-peer.ts'
import { randomBuild, run } from './measure.ts'
import { jsonProcess, type JsonEvent } from './json-process.ts'
import { freePort } from '../support/free-port.ts'
import { attemptAdmission } from '../support/admission-client.ts'
import { issuePass } from '../../app/release/admission.ts'

export interface HybridBenchOptions {
  readonly work: string
  readonly size: number
  readonly repeat: number
  readonly leechers: number
  /** Which cases to run: any of "1" to "5". */
  readonly cases: readonly string[]
}

type Event = JsonEvent

const shoal = (args: readonly string[], dataDir: string) => jsonProcess(SHOAL_LAUNCHER, [...args, '--json'], launcherEnv({ ...process.env, SHOAL_DATA_DIR: dataDir }))

interface Setup {
  readonly nginx: Nginx
  /** Serves the channel, manifest and torrent, but not the pack: peers must deliver every byte. */
  readonly noPack: Nginx
  readonly pub: string
  /** The publisher's private key, also the releases' admission key. */
  readonly key: string
  readonly tracker: string
  readonly seedInstall: string
  readonly seedData: string
  readonly torrent: string
  readonly rawDir: string
  /** The same bytes published `public` (case 4), installed for its seeder. */
  readonly publicCopy: { readonly noPack: Nginx; readonly seedInstall: string; readonly seedData: string } | undefined
  stop(): Promise<void>
}

async function setup(o: HybridBenchOptions): Promise<Setup> {
  const build = join(o.work, 'build')
  await randomBuild(build, 'hybrid-bench', o.size)
  const p = await publisher(o.work)
  // The tracker is also the control service: it issues peer passes (open enrollment, no token).
  const trackerProc = shoal(['tracker', '--port', '0', '--host', '127.0.0.1', '--admission-key', p.keyPath], join(o.work, 'tracker-data'))
  const tracker = (await trackerProc.waitFor('listening'))['announce'] as string
  const cdn = join(o.work, 'cdn')
  await p.publish(build, cdn, '1.0.0', 'stable', { trackers: [tracker] })
  const withPublic = o.cases.includes('4')
  if (withPublic) await p.publish(build, cdn, '1.0.0', 'stable', { trackers: [tracker], scope: 'public', product: 'bench-public' })
  await rm(build, { recursive: true })
  const noPackRoot = join(o.work, 'cdn-no-pack')
  for (const product of withPublic ? ['bench', 'bench-public'] : ['bench']) {
    for (const f of ['channels/stable.json', '1.0.0/manifest.json', '1.0.0/manifest.json.zst', '1.0.0/index', '1.0.0/pack.torrent']) {
      await mkdir(join(noPackRoot, product, f, '..'), { recursive: true })
      await copyFile(join(cdn, product, f), join(noPackRoot, product, f))
    }
  }
  const nginx = await startNginx(cdn, join(o.work, 'nginx'))
  const noPack = await startNginx(noPackRoot, join(o.work, 'nginx-no-pack'))
  const install = async (product: string, dir: string, data: string) => {
    const got = shoal(['get', `${nginx.url}/${product}/channels/stable.json`, '--pubkey', p.pubPath, '--dir', dir, '--no-lsd'], data)
    if ((await got.exit).code !== 0) throw new Error(`the seeder install of ${product} failed`)
  }
  const seedInstall = join(o.work, 'seed')
  const seedData = join(o.work, 'seed-data')
  await install('bench', seedInstall, seedData)
  const publicCopy = withPublic ? { noPack, seedInstall: join(o.work, 'seed-public'), seedData: join(o.work, 'seed-public-data') } : undefined
  if (publicCopy) await install('bench-public', publicCopy.seedInstall, publicCopy.seedData)
  const manifest = await readPublishedManifest(cdn, 'bench', '1.0.0', p.pubPath)
  const rawDir = join(o.work, 'raw-seed')
  await mkdir(rawDir, { recursive: true })
  await writeRawPack(manifest, seedInstall, join(rawDir, manifest.pack.name))
  return {
    nginx,
    noPack,
    pub: p.pubPath,
    key: p.keyPath,
    tracker,
    seedInstall,
    seedData,
    torrent: join(cdn, 'bench', '1.0.0', 'pack.torrent'),
    rawDir,
    publicCopy,
    stop: async () => {
      await trackerProc.stop()
      await Promise.all([nginx.stop(), noPack.stop()])
    },
  }
}

/** Bytes written to disk per byte installed, median of the runs. */
const diskRatio = (runs: readonly LeechRun[]) => `${median(runs.map((r) => r.writtenToDisk ?? NaN)).toFixed(2)}x`
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const cpuOfDone = (e: Event) => {
  const c = e['cpuSeconds'] as { user: number; system: number } | undefined
  return c ? c.user + c.system : NaN
}

interface LeechRun {
  readonly seconds: number
  readonly peakRss: number
  readonly cpu: number
  /** Bytes written to disk per byte installed (Shoal only). */
  readonly writtenToDisk?: number
  readonly cdnBytes?: number
}

/** (1) No peer anywhere, the swarm on: a whole `shoal get` against aria2c -x8, interleaved. */
async function noPeer(o: HybridBenchOptions, s: Setup, results: Record<string, unknown>): Promise<void> {
  const work = join(o.work, 'no-peer')
  await mkdir(work, { recursive: true })
  const shoalRuns: LeechRun[] = []
  const ariaRuns: number[] = []
  const channel = `${s.nginx.url}/bench/channels/stable.json`
  const get = async (name: string): Promise<LeechRun> => {
    for (const p of [name, `${name}-data`]) await rm(join(work, p), { recursive: true, force: true })
    const proc = shoal(['get', channel, '--pubkey', s.pub, '--dir', join(work, name)], join(work, `${name}-data`))
    const done = await proc.waitFor('done')
    const { code, seconds } = await proc.exit
    if (code !== 0) throw new Error(`shoal get exited with ${code}`)
    return { seconds, peakRss: done['peakRssBytes'] as number, cpu: cpuOfDone(done), ...(typeof done['writtenToDisk'] === 'number' ? { writtenToDisk: done['writtenToDisk'] } : {}) }
  }
  await get('warm-up')
  for (let r = 0; r < o.repeat; r++) {
    await run('sync')
    shoalRuns.push(await get('install'))
    await run('sync')
    const t = performance.now()
    await run('aria2c', ['-x8', '-s8', '-q', '--allow-overwrite=true', '--file-allocation=none', '-d', work, '-o', 'aria.bin', `${s.nginx.url}/bench/1.0.0/pack.chunks`])
    ariaRuns.push((performance.now() - t) / 1000)
  }
  await rm(work, { recursive: true, force: true })
  const shoalT = median(shoalRuns.map((r) => r.seconds))
  const ariaT = median(ariaRuns)
  console.log(`(1) no peer, swarm on (tracker in the release), whole process (goal: <= 1.1x aria2c)`)
  console.log(`  shoal get   ${shoalT.toFixed(2)} s  ${(o.size / 1e6 / shoalT).toFixed(0)} MB/s  ${(shoalT / ariaT).toFixed(2)}x aria2c  peak RSS ${formatBytes(Math.max(...shoalRuns.map((r) => r.peakRss)))}  CPU ${median(shoalRuns.map((r) => r.cpu)).toFixed(1)} s  written to disk ${diskRatio(shoalRuns)} (runs: ${shoalRuns.map((r) => r.seconds.toFixed(2)).join(', ')})`)
  console.log(`  aria2c -x8  ${ariaT.toFixed(2)} s  (runs: ${ariaRuns.map((x) => x.toFixed(2)).join(', ')})`)
  results['noPeer'] = { shoal: shoalRuns, aria2c: ariaRuns, ratio: shoalT / ariaT }
}

/** (2) One seeder -> one leecher, the pack refused by the CDN: Shoal against libtorrent. */
async function seederToLeecher(o: HybridBenchOptions, s: Setup, results: Record<string, unknown>): Promise<void> {
  const work = join(o.work, 'one-peer')
  await mkdir(work, { recursive: true })
  const channel = `${s.noPack.url}/bench/channels/stable.json`
  const shoalRuns: (LeechRun & { seederRss: number })[] = []
  const ltRuns: (LeechRun & { seederRss: number })[] = []
  for (let r = 0; r < o.repeat; r++) {
    for (const p of ['install', 'install-data', 'lt']) await rm(join(work, p), { recursive: true, force: true })
    await run('sync')
    const seeder = shoal(['seed', '--dir', s.seedInstall, '--pubkey', s.pub, '--no-lsd', '--listen', '127.0.0.1'], s.seedData)
    const port = (await seeder.waitFor('seeding'))['port'] as number
    const leech = shoal(['get', channel, '--pubkey', s.pub, '--dir', join(work, 'install'), '--peer', `127.0.0.1:${port}`, '--no-lsd'], join(work, 'install-data'))
    const done = await leech.waitFor('done')
    const { code, seconds } = await leech.exit
    const seederRss = await seeder.peakRss()
    await seeder.stop()
    if (code !== 0) throw new Error(`shoal get exited with ${code}`)
    shoalRuns.push({ seconds, peakRss: done['peakRssBytes'] as number, cpu: cpuOfDone(done), seederRss, cdnBytes: (done['bytes'] as { cdn: number }).cdn, ...(typeof done['writtenToDisk'] === 'number' ? { writtenToDisk: done['writtenToDisk'] } : {}) })

    await run('sync')
    const ltSeed = startLibtorrent('seed', { torrent: s.torrent, dir: s.rawDir })
    const ltPort = (await ltSeed.waitFor('seeding'))['port'] as number
    await mkdir(join(work, 'lt'), { recursive: true })
    const t = performance.now()
    const ltLeech = startLibtorrent('leech', { torrent: s.torrent, dir: join(work, 'lt'), peers: [`127.0.0.1:${ltPort}`] })
    const ltDone = await ltLeech.waitFor('done')
    await ltLeech.exit
    const ltSeconds = (performance.now() - t) / 1000
    const ltSeederRss = await ltSeed.peakRss()
    await ltSeed.stop()
    ltRuns.push({ seconds: ltSeconds, peakRss: ltDone['peakRssBytes'] as number, cpu: ltDone['cpuSeconds'] as number, seederRss: ltSeederRss })
  }
  await rm(work, { recursive: true, force: true })
  const sh = median(shoalRuns.map((r) => r.seconds))
  const lt = median(ltRuns.map((r) => r.seconds))
  const gib = o.size / 2 ** 30
  console.log(`(2) 1 seeder -> 1 leecher, CDN refusing the pack, whole process (goal: <= 1.0x libtorrent)`)
  const row = (name: string, runs: (LeechRun & { seederRss: number })[], t: number) =>
    console.log(`  ${name.padEnd(10)} ${t.toFixed(2)} s  ${(o.size / 1e6 / t).toFixed(0)} MB/s  leecher peak RSS ${formatBytes(Math.max(...runs.map((r) => r.peakRss)))}, seeder ${formatBytes(Math.max(...runs.map((r) => r.seederRss)))}  leecher CPU ${(median(runs.map((r) => r.cpu)) / gib).toFixed(1)} s/GiB${runs[0]?.writtenToDisk === undefined ? '' : `  written to disk ${diskRatio(runs)}`} (runs: ${runs.map((r) => r.seconds.toFixed(2)).join(', ')})`)
  row('shoal', shoalRuns, sh)
  row('libtorrent', ltRuns, lt)
  console.log(`  shoal / libtorrent: ${(sh / lt).toFixed(2)}x`)
  results['seederToLeecher'] = { shoal: shoalRuns, libtorrent: ltRuns, ratio: sh / lt }
}

/**
 * (3) One seeder + N leechers starting together, the pack refused by the CDN: aggregate MB/s,
 * Shoal against libtorrent. (5) The same with the seeder's upload capped at `seederCap` bytes per
 * second on both sides: what the leechers trade with each other decides the time.
 */
async function swarmOfLeechers(o: HybridBenchOptions, s: Setup, results: Record<string, unknown>, seederCap?: number): Promise<void> {
  const work = join(o.work, 'swarm')
  const channel = `${s.noPack.url}/bench/channels/stable.json`
  const gib = o.size / 2 ** 30
  const capArgs = seederCap ? ['--limit-up', String(seederCap)] : []
  const rows: Record<string, unknown> = {}
  const sides: Record<string, { seconds: number; peakRss: number[]; cpu: number[]; seederRss: number; seederUploaded: number }> = {}
  for (let r = 0; r < o.repeat; r++) {
    await rm(work, { recursive: true, force: true })
    await mkdir(work, { recursive: true })
    await run('sync')
    const seeder = shoal(['seed', '--dir', s.seedInstall, '--pubkey', s.pub, '--no-lsd', '--listen', '127.0.0.1', ...capArgs], s.seedData)
    const port = (await seeder.waitFor('seeding'))['port'] as number
    let t = performance.now()
    const leechers = Array.from({ length: o.leechers }, (_, i) => shoal(['get', channel, '--pubkey', s.pub, '--dir', join(work, `s${i}`), '--peer', `127.0.0.1:${port}`, '--no-lsd'], join(work, `s${i}-data`)))
    const done = await Promise.all(leechers.map((l) => l.waitFor('done')))
    await Promise.all(leechers.map((l) => l.exit))
    const shoalSeconds = (performance.now() - t) / 1000
    const seederRss = await seeder.peakRss()
    await seeder.stop()
    const seederUploaded = (await seeder.waitFor('stopped'))['uploaded'] as number
    const shoalRun = { seconds: shoalSeconds, peakRss: done.map((e) => e['peakRssBytes'] as number), cpu: done.map(cpuOfDone), seederRss, seederUploaded }

    await rm(work, { recursive: true, force: true })
    await mkdir(work, { recursive: true })
    await run('sync')
    const ltSeed = startLibtorrent('seed', { torrent: s.torrent, dir: s.rawDir, ...(seederCap ? { uploadLimit: seederCap } : {}) })
    const ltPort = (await ltSeed.waitFor('seeding'))['port'] as number
    // libtorrent has no tracker here: each leecher is told the seeder and every other leecher.
    const ports = await Promise.all(Array.from({ length: o.leechers }, () => freePort()))
    t = performance.now()
    const ltLeechers = ports.map((p, i) => {
      const dir = join(work, `lt${i}`)
      return { dir, peer: startLibtorrent('leech', { torrent: s.torrent, dir, port: p, peers: [`127.0.0.1:${ltPort}`, ...ports.filter((q) => q !== p).map((q) => `127.0.0.1:${q}`)] }) }
    })
    const ltDone = await Promise.all(ltLeechers.map((l) => l.peer.waitFor('done')))
    await Promise.all(ltLeechers.map((l) => l.peer.exit))
    const ltSeconds = (performance.now() - t) / 1000
    const ltSeederRss = await ltSeed.peakRss()
    await ltSeed.stop()
    const ltUploaded = (await ltSeed.waitFor('stopped'))['uploaded'] as number
    const ltRun = { seconds: ltSeconds, peakRss: ltDone.map((e) => e['peakRssBytes'] as number), cpu: ltDone.map((e) => e['cpuSeconds'] as number), seederRss: ltSeederRss, seederUploaded: ltUploaded }
    for (const [name, row] of [['shoal', shoalRun], ['libtorrent', ltRun]] as const) {
      if (!sides[name] || row.seconds < sides[name].seconds) sides[name] = row
    }
    rows[`run${r}`] = { shoal: shoalRun, libtorrent: ltRun }
  }
  await rm(work, { recursive: true, force: true })
  const total = o.leechers * o.size
  if (seederCap) console.log(`(5) 1 seeder capped at ${formatBytes(seederCap)}/s + ${o.leechers} leechers starting together, CDN refusing the pack (best of ${o.repeat}; the leechers must trade)`)
  else console.log(`(3) 1 seeder + ${o.leechers} leechers starting together, CDN refusing the pack (best of ${o.repeat}; goal: aggregate >= 1.0x libtorrent)`)
  for (const [name, r] of Object.entries(sides)) {
    console.log(`  ${name.padEnd(10)} ${r.seconds.toFixed(2)} s  aggregate ${(total / 1e6 / r.seconds).toFixed(0)} MB/s  seeder sent ${((100 * r.seederUploaded) / total).toFixed(0)} % of the leechers' bytes  leecher peak RSS ${formatBytes(Math.max(...r.peakRss))}, seeder ${formatBytes(r.seederRss)}  leecher CPU ${(median(r.cpu) / gib).toFixed(1)} s/GiB`)
  }
  const ratio = sides['libtorrent']!.seconds / sides['shoal']!.seconds
  console.log(`  shoal aggregate / libtorrent aggregate: ${ratio.toFixed(2)}x`)
  results[seederCap ? 'cappedSeeder' : 'swarmOfLeechers'] = { ...rows, aggregateRatio: ratio, ...(seederCap ? { seederCap } : {}) }
}

/** One Shoal seeder -> one Shoal leecher of `product` with the pack refused by the CDN; `args` go to both sides. */
async function oneTransfer(s: Setup, work: string, product: string, seed: { install: string; data: string }, args: readonly string[]): Promise<LeechRun & { seederCpu: number }> {
  for (const p of ['install', 'install-data']) await rm(join(work, p), { recursive: true, force: true })
  await run('sync')
  const seeder = shoal(['seed', '--dir', seed.install, '--pubkey', s.pub, '--no-lsd', '--listen', '127.0.0.1', ...args], seed.data)
  const port = (await seeder.waitFor('seeding'))['port'] as number
  const leech = shoal(['get', `${s.noPack.url}/${product}/channels/stable.json`, '--pubkey', s.pub, '--dir', join(work, 'install'), '--peer', `127.0.0.1:${port}`, '--no-lsd', ...args], join(work, 'install-data'))
  const done = await leech.waitFor('done')
  const { code, seconds } = await leech.exit
  const seederCpu = await seeder.cpuSeconds()
  await seeder.stop()
  if (code !== 0) throw new Error(`shoal get exited with ${code}`)
  if ((done['bytes'] as { cdn: number }).cdn > 0) throw new Error('the CDN served pack bytes: the transfer did not go peer to peer')
  return { seconds, peakRss: done['peakRssBytes'] as number, cpu: cpuOfDone(done), seederCpu }
}

/** Times from TCP connect to admitted (both passes checked) against a running TLS seeder, `n` times in a row. */
async function handshakeMs(s: Setup, n: number): Promise<number[]> {
  const seeder = shoal(['seed', '--dir', s.seedInstall, '--pubkey', s.pub, '--no-lsd', '--listen', '127.0.0.1'], s.seedData)
  const seeding = await seeder.waitFor('seeding')
  const swarm = seeding['infoHash'] as string
  const admissionKey = createPrivateKey(await readFile(s.key))
  const times: number[] = []
  for (let i = 0; i < n; i++) {
    const holder = generateKeyPairSync('ed25519').privateKey
    const pass = issuePass(admissionKey, { swarm, holder, seconds: 600, nowMs: Date.now() })
    const t = performance.now()
    const { socket, admitted } = await attemptAdmission({ port: seeding['port'] as number, swarm, pass, proofKey: holder })
    times.push(performance.now() - t)
    socket.destroy()
    if (!admitted) throw new Error('the seeder refused a valid pass')
  }
  await seeder.stop()
  return times
}

/** (4) The peer transport: TLS 1.3 with admission, against plain BitTorrent and MSE on a public copy of the same bytes. */
async function transport(o: HybridBenchOptions, s: Setup, results: Record<string, unknown>): Promise<void> {
  const work = join(o.work, 'transport')
  await mkdir(work, { recursive: true })
  const pub = s.publicCopy!
  const sides = { tls: [] as (LeechRun & { seederCpu: number })[], plaintext: [] as (LeechRun & { seederCpu: number })[], mse: [] as (LeechRun & { seederCpu: number })[] }
  for (let r = 0; r < o.repeat; r++) {
    sides.tls.push(await oneTransfer(s, work, 'bench', { install: s.seedInstall, data: s.seedData }, []))
    sides.plaintext.push(await oneTransfer(s, work, 'bench-public', { install: pub.seedInstall, data: pub.seedData }, ['--peer-encryption', 'off']))
    sides.mse.push(await oneTransfer(s, work, 'bench-public', { install: pub.seedInstall, data: pub.seedData }, ['--peer-encryption', 'require']))
  }
  const handshake = await handshakeMs(s, 20)
  await rm(work, { recursive: true, force: true })
  const gib = o.size / 2 ** 30
  const t = (k: keyof typeof sides) => median(sides[k].map((x) => x.seconds))
  console.log(`(4) peer transport, 1 seeder -> 1 leecher, CDN refusing the pack (goal: TLS <= 1.10x plaintext)`)
  for (const [name, runs] of Object.entries(sides) as [keyof typeof sides, (LeechRun & { seederCpu: number })[]][]) {
    console.log(`  ${name.padEnd(10)} ${t(name).toFixed(2)} s  ${(o.size / 1e6 / t(name)).toFixed(0)} MB/s  ${(t(name) / t('plaintext')).toFixed(2)}x plaintext  leecher CPU ${(median(runs.map((x) => x.cpu)) / gib).toFixed(1)} s/GiB, seeder ${(median(runs.map((x) => x.seederCpu)) / gib).toFixed(1)} s/GiB (runs: ${runs.map((x) => x.seconds.toFixed(2)).join(', ')})`)
  }
  console.log(`  TLS / plaintext ${(t('tls') / t('plaintext')).toFixed(2)}x, TLS / MSE require ${(t('tls') / t('mse')).toFixed(2)}x`)
  console.log(`  admission handshake (TCP + TLS 1.3 + passes both ways), ${handshake.length} sequential: median ${median(handshake).toFixed(1)} ms, max ${Math.max(...handshake).toFixed(1)} ms`)
  results['transport'] = { ...sides, tlsOverPlaintext: t('tls') / t('plaintext'), tlsOverMse: t('tls') / t('mse'), handshakeMs: handshake }
}

export async function hybridBench(o: HybridBenchOptions, results: Record<string, unknown>): Promise<void> {
  const work = join(o.work, 'hybrid')
  await mkdir(work, { recursive: true })
  const s = await setup({ ...o, work })
  const rows: Record<string, unknown> = { size: o.size }
  results['hybrid'] = rows
  try {
    console.log(`\nhybrid, ${formatBytes(o.size)} release published with a tracker (median of ${o.repeat}):`)
    if (o.cases.includes('1')) await noPeer({ ...o, work }, s, rows)
    if (o.cases.includes('2')) await seederToLeecher({ ...o, work }, s, rows)
    if (o.cases.includes('3')) await swarmOfLeechers({ ...o, work }, s, rows)
    if (o.cases.includes('4')) await transport({ ...o, work }, s, rows)
    // A 32nd of the release per second: the seeder needs 32 s to send one copy, while libtorrent's
    // 8 leechers took about 30 s with an uncapped seeder that sent them 1.7 copies.
    if (o.cases.includes('5')) await swarmOfLeechers({ ...o, work }, s, rows, Math.round(o.size / 32))
  } finally {
    await s.stop()
    await rm(work, { recursive: true, force: true })
  }
}
