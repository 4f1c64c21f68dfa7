// `npm run demo`: Shoal's main job on a generated sample product: publish two releases,
// serve them as a CDN, and have several clients install v1 and update to v2 from it.
// The swarm issue adds peers (a tracker and a seed) to the same run.
import { spawn } from 'node:child_process'
import { createPrivateKey, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command, InvalidArgumentError } from 'commander'
import { formatBytes, parseBytes } from '../../shared/units.ts'
import { launcherEnv, SHOAL_LAUNCHER } from '../cli/launcher.ts'
import { offloadRatio, type SourceBytes } from '../engine/engine.ts'
import { runClients, startSeed, type ClientState } from './demo-clients.ts'
import { writeSampleBuild, writeUpdatedBuild } from './sample-build.ts'
import { startStaticServer } from './static-server.ts'
import { startTracker } from '../tracker/tracker-server.ts'

function shoal(args: string[], capture: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(SHOAL_LAUNCHER, args, { env: launcherEnv(), stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] })
    let out = ''
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`shoal ${args[0]} exited with ${code}`))))
  })
}

async function main(): Promise<void> {
  const opts = new Command('demo')
    .option('--size <bytes>', 'size of the sample build', (v) => parseBytes(v) ?? (() => { throw new InvalidArgumentError('expected a size such as 256MiB') })(), 256 * 1024 * 1024)
    .option('--dir <dir>', 'work folder (default: a new temp folder, kept for a look afterwards)')
    .option('--clients <n>', 'client processes that install and update', (v) => Math.max(1, Math.min(16, Number(v) || 1)), 3)
    .parse()
    .opts<{ size: number; dir?: string; clients: number }>()
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'shoal-demo-')))
  const cdn = join(dir, 'cdn')
  const keys = join(dir, 'keys')
  const started = performance.now()
  console.log(`Shoal demo in ${dir}\n`)

  console.log('1. publisher key, admission key, and a tracker on 127.0.0.1 (announces and peer passes need its token)')
  await shoal(['keygen', '--out', keys], false)
  await shoal(['keygen', '--out', keys, '--name', 'admission'], false)
  const trackerTokenFile = join(dir, 'tracker.token')
  const trackerToken = randomBytes(16).toString('hex')
  await writeFile(trackerTokenFile, trackerToken + '\n', { mode: 0o600 })
  // The tracker is the control service: it holds the admission key the releases name and issues
  // peer passes to clients with the token; peers then talk TLS 1.3 and admit only pass holders.
  const admissionKey = createPrivateKey(await readFile(join(keys, 'admission.key')))
  const tracker = await startTracker({ port: 0, host: '127.0.0.1', token: trackerToken, admission: { admissionKey, passSeconds: 4 * 3600, revokedFile: undefined } })
  console.log(`   tracker: ${tracker.announceUrl}`)

  console.log(`\n2. sample build v1 (${formatBytes(opts.size)}) and v2 (a point release: scattered small edits, one insertion, a rewritten script, a file added and one removed)`)
  await writeSampleBuild(join(dir, 'build-1.0.0'), opts.size, 'demo')
  const changes = await writeUpdatedBuild(join(dir, 'build-1.0.0'), join(dir, 'build-1.1.0'), 'demo-v2')

  const published: { version: string; channel: string; seconds: number }[] = []
  for (const [version, channel] of [['1.0.0', 'stable'], ['1.1.0', 'beta']] as const) {
    console.log(`\n3. publish ${version} on channel ${channel}`)
    const t = performance.now()
    // Private: the clients all run on this machine, and a lan release would multicast its infohash out of every interface.
    await shoal(['publish', join(dir, `build-${version}`), '--product', 'demo-game', '--version', version, '--channel', channel, '--key', join(keys, 'publisher.key'), '--out', cdn, '--scope', 'private', '--admission-key', join(keys, 'admission.pub'), '--tracker', tracker.announceUrl], false)
    published.push({ version, channel, seconds: (performance.now() - t) / 1000 })
  }

  console.log('\n4. inspect both channels (signature, expiry, manifest hash, structure)')
  const rows = []
  for (const p of published) {
    const pointer = join(cdn, 'demo-game', 'channels', `${p.channel}.json`)
    await shoal(['inspect', pointer, '--pubkey', join(keys, 'publisher.pub')], false)
    const info = JSON.parse((await shoal(['inspect', pointer, '--pubkey', join(keys, 'publisher.pub'), '--json'], true)).trim().split('\n').at(-1)!) as Record<string, number>
    const store = (await stat(join(cdn, 'demo-game', p.version, 'pack.chunks'))).size
    rows.push({ ...p, bytes: info['bytes']!, files: info['files']!, store, manifest: info['manifestBytes']!, pieces: info['pieces']! })
  }

  console.log(`\n5. serve ${cdn} on 127.0.0.1 (a static range server standing in for the CDN)`)
  const server = await startStaticServer(cdn)
  const pubkey = join(keys, 'publisher.pub')
  const clients = join(dir, 'clients')
  const others = Array.from({ length: opts.clients - 1 }, (_, i) => i + 2)
  const round = async (channel: string, version: string, step: number): Promise<ClientState[]> => {
    const url = `${server.url}/demo-game/channels/${channel}.json`
    const token = ['--tracker-token-file', trackerTokenFile]
    const first = await runClients(clients, [1], url, pubkey, `\n${step}. client 1 gets ${version} from the CDN, then seeds it`, token)
    if (others.length === 0) return first
    const seed = await startSeed(clients, 1, pubkey, token)
    try {
      return [...first, ...(await runClients(clients, others, url, pubkey, `${step}b. ${others.length} more clients get ${version} at once, from the tracker's peers and client 1 first (port ${seed.port})`, ['--peer', `127.0.0.1:${seed.port}`, ...token]))]
    } finally {
      await seed.stop()
    }
  }
  const installs = await round('stable', '1.0.0', 6)
  const updates = await round('beta', '1.1.0', 7)
  await server.close()
  await tracker.close()
  const failed = [...installs, ...updates].filter((c) => c.error)

  console.log('\nSummary')
  console.log('  version  channel  files  release     new on CDN  manifest   pieces  publish')
  for (const r of rows) {
    console.log(`  ${r.version.padEnd(8)} ${r.channel.padEnd(8)} ${String(r.files).padStart(5)}  ${formatBytes(r.bytes).padEnd(10)}  ${formatBytes(r.store).padEnd(10)}  ${formatBytes(r.manifest).padEnd(9)}  ${String(r.pieces).padStart(6)}  ${r.seconds.toFixed(1)} s`)
  }
  const update = rows[1]!
  console.log(`\n  v2 changed ${formatBytes(changes.changedBytes)} in ${changes.editedFiles} files; its new pack section stores ${formatBytes(update.store)} (${((100 * update.store) / update.bytes).toFixed(1)} % of the release).`)
  const sum = (states: ClientState[], key: keyof SourceBytes) => states.reduce((n, c) => n + c.bytes[key], 0)
  const release = rows[0]!.bytes
  const offload = (states: ClientState[]) => (100 * offloadRatio({ cdn: sum(states, 'cdn'), lan: sum(states, 'lan'), wan: sum(states, 'wan') })).toFixed(0)
  console.log(`  Install: ${opts.clients} clients; the CDN served ${formatBytes(sum(installs, 'cdn'))} (${(sum(installs, 'cdn') / release).toFixed(2)}x the release), peers ${formatBytes(sum(installs, 'lan') + sum(installs, 'wan'))}: ${offload(installs)} % offload.`)
  console.log(`  Update: the CDN served ${formatBytes(sum(updates, 'cdn'))}, peers ${formatBytes(sum(updates, 'lan') + sum(updates, 'wan'))} (${offload(updates)} % offload), and ${formatBytes(sum(updates, 'local'))} was reused from the installed versions.`)
  console.log(`  Done in ${((performance.now() - started) / 1000).toFixed(1)} s. The CDN folder ${cdn} can be served by any static HTTP server.`)
  if (failed.length > 0) {
    console.error(`${failed.length} client job(s) failed: ${failed.map((c) => `${c.name}: ${c.error}`).join('; ')}`)
    process.exitCode = 1
  }
}

await main()
