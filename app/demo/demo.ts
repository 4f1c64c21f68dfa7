// `npm run demo`: Shoal's main job on a generated sample product: publish two releases,
// serve them as a CDN, and have several clients install v1 and update to v2 from it.
// The swarm issue adds peers (a tracker and a seed) to the same run.
import { spawn } from 'node:child_process'
import { mkdtemp, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command, InvalidArgumentError } from 'commander'
import { formatBytes, parseBytes } from '../../shared/units.ts'
import type { SourceBytes } from '../engine/stats/source-bytes.ts'
import { runClients, type ClientState } from './demo-clients.ts'
import { writeSampleBuild, writeUpdatedBuild } from './sample-build.ts'
import { startStaticServer } from './static-server.ts'

const CLI = fileURLToPath(new URL('../cli/shoal.ts', import.meta.url))

function shoal(args: string[], capture: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] })
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

  console.log('1. publisher key')
  await shoal(['keygen', '--out', keys], false)

  console.log(`\n2. sample build v1 (${formatBytes(opts.size)}) and v2 (a point release: scattered small edits, one insertion, a rewritten script, a file added and one removed)`)
  await writeSampleBuild(join(dir, 'build-1.0.0'), opts.size, 'demo')
  const changes = await writeUpdatedBuild(join(dir, 'build-1.0.0'), join(dir, 'build-1.1.0'), 'demo-v2')

  const published: { version: string; channel: string; seconds: number }[] = []
  for (const [version, channel] of [['1.0.0', 'stable'], ['1.1.0', 'beta']] as const) {
    console.log(`\n3. publish ${version} on channel ${channel}`)
    const t = performance.now()
    await shoal(['publish', join(dir, `build-${version}`), '--product', 'demo-game', '--version', version, '--channel', channel, '--key', join(keys, 'publisher.key'), '--out', cdn], false)
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
  const installs = await runClients(clients, opts.clients, `${server.url}/demo-game/channels/stable.json`, pubkey, `\n6. ${opts.clients} clients install 1.0.0 at once`)
  const updates = await runClients(clients, opts.clients, `${server.url}/demo-game/channels/beta.json`, pubkey, `\n7. the same clients update to 1.1.0`)
  await server.close()
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
  console.log(`  Install: ${opts.clients} clients took ${formatBytes(sum(installs, 'cdn'))} from the CDN, ${(sum(installs, 'cdn') / release).toFixed(2)}x the release (peers join in the swarm issue).`)
  console.log(`  Update: ${formatBytes(sum(updates, 'cdn'))} from the CDN and ${formatBytes(sum(updates, 'local'))} reused from the installed version; each client fetched ${((100 * sum(updates, 'cdn')) / opts.clients / update.bytes).toFixed(1)} % of the release.`)
  console.log(`  Done in ${((performance.now() - started) / 1000).toFixed(1)} s. The CDN folder ${cdn} can be served by any static HTTP server.`)
  if (failed.length > 0) {
    console.error(`${failed.length} client job(s) failed: ${failed.map((c) => `${c.name}: ${c.error}`).join('; ')}`)
    process.exitCode = 1
  }
}

await main()
