import { spawn } from 'node:child_process'
import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { seededBytes } from '../../app/demo/sample-build.ts'
import { startTracker } from '../../app/tracker/tracker-server.ts'
import { agentStatus, startAgent, waitForJob } from '../support/agent-process.ts'
import { startNginx } from '../support/nginx.ts'
import { writeRawPack } from '../support/raw-pack.ts'
import { makeFixture } from '../support/release-fixture.ts'
import { runCli } from '../support/run-cli.ts'
import { useTempDirs } from '../support/temp-dir.ts'
import { treeHash } from '../support/tree-hash.ts'

const SIZE = 64 * 1024 * 1024
const CAP = 5_000_000
const TOKEN = 'swarm-operator'
const STOCK = fileURLToPath(new URL('../bench/stock-webtorrent.ts', import.meta.url))

const tempDir = useTempDirs()
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** Stock webtorrent seeding whatever pieces of the raw pack in `dir` verify; resolves once it seeds, with its stop. */
async function stockSeeder(torrent: string, dir: string, announce: string): Promise<() => Promise<unknown>> {
  const child = spawn(process.execPath, [STOCK, '--mode', 'seed', '--torrent', torrent, '--dir', dir, '--tracker', announce], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise((r) => child.once('exit', r))
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGTERM')
    return exited
  }
  cleanups.push(stop)
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('"seeding"') && resolve())
    child.once('exit', (code) => reject(new Error(`stock webtorrent exited (${code}) before seeding`)))
  })
  return stop
}

describe('agent jobs in a swarm', () => {
  it('holds a global cap across peers and the CDN together, reports peers and offload, and seeds by policy', async () => {
    const dir = await tempDir()
    const f = await makeFixture(dir, 1024)
    const build = join(dir, 'build')
    await mkdir(build, { recursive: true })
    await writeFile(join(build, 'assets.pak'), seededBytes('agent-swarm', SIZE))
    const tracker = await startTracker({ port: 0, host: '127.0.0.1', token: TOKEN })
    cleanups.push(() => tracker.close())
    const announce = `${tracker.announceUrl}?token=${TOKEN}`
    // Public: the half seeder is stock webtorrent, a standard BitTorrent client (private and lan swarms admit only Shoal peers with a pass).
    expect((await f.publish(build, '1.0.0', ['--tracker', tracker.announceUrl, '--scope', 'public'])).code).toBe(0)
    const nginx = await startNginx(f.cdn, join(dir, 'nginx'))
    cleanups.push(() => nginx.stop())
    const pub = join(f.keyDir, 'publisher.pub')
    const channel = `${nginx.url}/game/channels/stable.json`
    const tokenFile = join(dir, 'tracker.token')
    await writeFile(tokenFile, TOKEN)

    // A peer holding the first half of the pack: the agent takes that half from it and the
    // rest from the CDN, both at once.
    const full = join(dir, 'full')
    expect((await runCli(['get', channel, '--pubkey', pub, '--dir', full], { SHOAL_DATA_DIR: join(dir, 'data-full') })).code).toBe(0)
    const m = await f.readManifest('1.0.0')
    const half = join(dir, 'half')
    await mkdir(half)
    const rawPack = join(half, m.pack.name)
    await writeRawPack(m, full, rawPack)
    await truncate(rawPack, Math.floor(m.pack.length / 2))
    await truncate(rawPack, m.pack.length)
    const stopHalfSeeder = await stockSeeder(join(f.cdn, 'game', '1.0.0', 'pack.torrent'), half, announce)

    const agent = await startAgent(join(dir, 'data'), join(dir, 'no-policy.json'), ['--tracker-token-file', tokenFile])
    cleanups.push(() => agent.cli.stop())
    expect((await agent.api('PATCH', '/api/settings', { caps: { down: { global: CAP } }, reportOffload: true })).status).toBe(200)
    const added = await agent.api('POST', '/api/products', { channelUrl: channel, publicKey: await readFile(pub, 'utf8'), installDir: join(dir, 'install') })
    expect(added.status, JSON.stringify(added.json)).toBe(201)
    const created = await agent.api('POST', '/api/jobs', { productId: added.json['id'], kind: 'install' })
    const id = created.json['id'] as string

    const running = await waitForJob(agent, id, (j) => j.bytes.cdn > 0 && j.bytes.lan > 4 * 1024 * 1024)
    expect(running.peers.lan).toBeGreaterThanOrEqual(1)
    const shown = await runCli(['status'], { SHOAL_DATA_DIR: join(dir, 'data') })
    expect(shown.stdout).toMatch(/% offload\), 1 peer connected/)
    const first = (await agentStatus(agent)).jobs[0]!
    const t0 = performance.now()
    await sleep(5000)
    const last = (await agentStatus(agent)).jobs[0]!
    const seconds = (performance.now() - t0) / 1000
    const rate = (k: 'cdn' | 'lan') => (last.bytes[k] - first.bytes[k]) / seconds
    console.log(`global cap ${CAP} B/s with a half seeder: cdn ${rate('cdn').toFixed(0)} + lan ${rate('lan').toFixed(0)} = ${(rate('cdn') + rate('lan')).toFixed(0)} B/s over ${seconds.toFixed(1)} s (state ${last.state})`)
    expect(last.state).toBe('running')
    expect(rate('cdn') + rate('lan')).toBeLessThanOrEqual(5_500_000)
    expect(rate('cdn')).toBeGreaterThan(0)
    expect(rate('lan')).toBeGreaterThan(0)

    // SIGTERM mid-job, with CDN ranges and peer pieces in flight: a clean stop, and the next start resumes.
    const stopped = await agent.cli.stop()
    expect(stopped.code).toBe(0)
    expect(stopped.events.at(-1)).toMatchObject({ event: 'stopped' })
    const again = await startAgent(join(dir, 'data'), join(dir, 'no-policy.json'), ['--tracker-token-file', tokenFile])
    cleanups.push(() => again.cli.stop())
    expect((await again.api('PATCH', '/api/settings', { caps: { down: { global: null } } })).status).toBe(200)
    const done = await waitForJob(again, id, (j) => j.state === 'done')
    expect(done.peers).toEqual({ lan: 0, wan: 0 })
    expect(done.bytes.cdn + done.bytes.lan).toBeGreaterThan(0)
    expect(await treeHash(join(dir, 'install'))).toEqual(await treeHash(build))

    // The opt-in report reached the tracker with the job's bytes.
    const metrics = async () => (await fetch(tracker.announceUrl.replace(/\/announce$/, '/metrics'), { headers: { authorization: `Bearer ${TOKEN}` } })).text()
    for (let i = 0; i < 50 && !(await metrics()).match(/^shoal_offload_reports_total 1$/m); i++) await sleep(100)
    const text = await metrics()
    expect(text).toContain(`shoal_offload_bytes_total{source="lan"} ${done.bytes.lan}`)
    expect(text).toContain(`shoal_offload_bytes_total{source="cdn"} ${done.bytes.cdn}`)

    // With consent and LAN sharing the agent seeds the install, and a new client takes it all from there.
    expect((await again.api('PATCH', '/api/settings', { sharing: { consentGiven: true, mode: 'lan', minFreeDisk: 0 } })).status).toBe(200)
    expect((await agentStatus(again)).sharing?.seeding).toEqual([done.productId])
    // A public release: no admission, so nothing to refuse; the count is there all the same.
    expect((await agentStatus(again)).sharing?.peerRefusals).toEqual({})
    await stopHalfSeeder()
    const before = await nginx.bodyBytesSent(/pack\.chunks/)
    // Offload only: on loopback the CDN outruns the peer, and the finish bound would use it.
    const leech = await runCli(['get', channel, '--pubkey', pub, '--dir', join(dir, 'leech'), '--tracker-token-file', tokenFile, '--finish-slip', 'off', '--json'], { SHOAL_DATA_DIR: join(dir, 'data-leech') })
    expect(leech.code, leech.stderr).toBe(0)
    console.log(`seeding by policy: a new client got ${JSON.stringify(leech.last['bytes'])}`)
    expect(leech.last['bytes']).toMatchObject({ cdn: 0, wan: 0 })
    expect(await nginx.bodyBytesSent(/pack\.chunks/)).toBe(before)
    expect(await treeHash(join(dir, 'leech'))).toEqual(await treeHash(build))
  }, 180_000)
})
