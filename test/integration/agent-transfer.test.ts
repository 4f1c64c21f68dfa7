import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as v from 'valibot'
import { seededBytes, seededText } from '../../app/demo/sample-build.ts'
import { runCli } from '../support/run-cli.ts'
import { jobSchema, type Job } from '../../shared/api-contract.ts'
import { agentStatus as status, startAgent, waitForJob, type RunningAgent } from '../support/agent-process.ts'
import { startCountingProxy, type CountingProxy } from '../support/counting-proxy.ts'
import { startNginx, type Nginx } from '../support/nginx.ts'
import { makeFixture, type Fixture } from '../support/release-fixture.ts'
import { treeHash } from '../support/tree-hash.ts'
import { useTempDirs } from '../support/temp-dir.ts'

const SIZE = 48 * 1024 * 1024
const CAP = 5_000_000

let f: Fixture
let nginx: Nginx
let proxy: CountingProxy
let store: number
let tree: Record<string, string>
const tempDir = useTempDirs()

let fixtureDir: string

beforeAll(async () => {
  const dir = (fixtureDir = await mkdtemp(join(tmpdir(), 'shoal-agent-transfer-')))
  f = await makeFixture(dir, 1024)
  const build = join(dir, 'build')
  await mkdir(join(build, 'data'), { recursive: true })
  // Random bytes: the chunk store is as large as the release, so rates on the wire are rates of the job.
  await writeFile(join(build, 'data', 'assets.pak'), seededBytes('agent-transfer', SIZE))
  await writeFile(join(build, 'readme.txt'), seededText('agent-readme', 50_000))
  const published = await f.publish(build, '1.0.0')
  if (published.code !== 0) throw new Error(published.stderr)
  store = (await stat(join(f.cdn, 'game', '1.0.0', 'pack.chunks'))).size
  tree = await treeHash(build)
  nginx = await startNginx(f.cdn, join(dir, 'nginx'))
  proxy = await startCountingProxy(Number(new URL(nginx.url).port))
}, 120_000)

afterAll(async () => {
  await proxy?.stop()
  await nginx?.stop()
  await rm(fixtureDir, { recursive: true, force: true })
})

/** Adds the product behind the counting proxy and queues its install. */
async function addAndInstall(agent: RunningAgent, installDir: string): Promise<Job> {
  const pub = await readFile(join(f.keyDir, 'publisher.pub'), 'utf8')
  const added = await agent.api('POST', '/api/products', { channelUrl: `${proxy.url}/game/channels/stable.json`, publicKey: pub, installDir })
  expect(added.status, JSON.stringify(added.json)).toBe(201)
  const created = await agent.api('POST', '/api/jobs', { productId: added.json['id'], kind: 'install' })
  expect(created.status, JSON.stringify(created.json)).toBe(201)
  return v.parse(jobSchema, created.json)
}

describe('agent jobs against nginx', () => {
  it('holds a 5 MB/s cap, pause stops the bytes within 1 s, and resume does not fetch verified chunks again', async () => {
    const dir = await tempDir()
    const agent = await startAgent(join(dir, 'data'), join(dir, 'no-policy.json'))
    try {
      expect((await agent.api('PATCH', '/api/settings', { caps: { down: { global: CAP } } })).status).toBe(200)
      const base = proxy.received()
      const job = await addAndInstall(agent, join(dir, 'install'))
      await waitForJob(agent, job.id, (j) => j.bytes.cdn > 0)
      // Past the first second, socket buffers are full and the rate on the wire is the rate read.
      await sleep(1500)
      const from = proxy.received()
      const t0 = performance.now()
      await sleep(5000)
      const observed = (proxy.received() - from) / ((performance.now() - t0) / 1000)
      console.log(`cap ${CAP} B/s: observed ${observed.toFixed(0)} B/s over 5 s (${((100 * observed) / CAP).toFixed(1)} % of the cap)`)
      expect(observed).toBeLessThanOrEqual(5_500_000)
      expect(observed).toBeGreaterThan(2_000_000)

      const beforePause = proxy.received()
      const paused = performance.now()
      const pausing = agent.api('POST', `/api/jobs/${job.id}/pause`)
      let lastByteAt = paused
      let last = proxy.received()
      while (performance.now() - paused < 3000) {
        await sleep(20)
        const now = proxy.received()
        if (now !== last) lastByteAt = performance.now()
        last = now
      }
      expect((await pausing).status).toBe(200)
      console.log(`pause: last byte ${(lastByteAt - paused).toFixed(0)} ms after the request; ${proxy.received() - beforePause} bytes after it`)
      expect(lastByteAt - paused).toBeLessThan(1000)
      expect((await status(agent)).jobs[0]).toMatchObject({ state: 'paused', rates: { cdn: 0 } })

      expect((await agent.api('PATCH', '/api/settings', { caps: { down: { global: null } } })).status).toBe(200)
      const beforeResume = proxy.received()
      expect((await agent.api('POST', `/api/jobs/${job.id}/resume`)).status).toBe(200)
      const done = await waitForJob(agent, job.id, (j) => j.state === 'done')
      expect(done.version).toBe('1.0.0')
      expect(await treeHash(join(dir, 'install'))).toEqual(tree)
      const afterResume = proxy.received() - beforeResume
      const beforePauseTotal = beforeResume - base
      console.log(`resume fetched ${afterResume} of ${store} stored bytes; ${beforePauseTotal} came before the pause; ${beforePauseTotal + afterResume - store} bytes fetched twice or for the channel and manifest`)
      expect(afterResume).toBeLessThan(store - 8 * 1024 * 1024)
      // Chunks that arrived whole before the pause are kept, even from ranges cut short.
      expect(beforePauseTotal + afterResume - store).toBeLessThan(2 * 1024 * 1024)
    } finally {
      await agent.cli.stop()
    }
  }, 120_000)

  it('a restarted agent resumes its job after SIGTERM, from its checkpoint', async () => {
    const dir = await tempDir()
    const data = join(dir, 'data')
    const first = await startAgent(data, join(dir, 'no-policy.json'))
    let job: Job
    try {
      expect((await first.api('PATCH', '/api/settings', { caps: { down: { global: 8_000_000 } } })).status).toBe(200)
      job = await addAndInstall(first, join(dir, 'install'))
      await waitForJob(first, job.id, (j) => j.bytesDone > 16 * 1024 * 1024)
    } finally {
      const t = performance.now()
      const stopped = await first.cli.stop()
      expect(stopped.code).toBe(0)
      expect(stopped.events.at(-1)).toMatchObject({ event: 'stopped' })
      console.log(`SIGTERM to exit: ${(performance.now() - t).toFixed(0)} ms`)
    }
    const beforeRestart = proxy.received()
    const second = await startAgent(data, join(dir, 'no-policy.json'))
    try {
      expect((await second.api('PATCH', '/api/settings', { caps: { down: { global: null } } })).status).toBe(200)
      const done = await waitForJob(second, job.id, (j) => j.state === 'done')
      expect(done.detail).toBe(null)
      expect(await treeHash(join(dir, 'install'))).toEqual(tree)
      expect(proxy.received() - beforeRestart).toBeLessThan(store - 8 * 1024 * 1024)
      const history = await second.api('GET', '/api/history')
      expect(history.json['entries']).toHaveLength(1)
      // Seeding follows the sharing policy: on with consent and a mode, off again with "off".
      expect((await status(second)).sharing).toMatchObject({ uploading: false, seeding: [] })
      expect((await second.api('PATCH', '/api/settings', { sharing: { consentGiven: true, mode: 'lan', minFreeDisk: 0 } })).status).toBe(200)
      expect((await status(second)).sharing).toMatchObject({ uploading: true, reason: null, seeding: [done.productId] })
      expect((await second.api('PATCH', '/api/settings', { sharing: { mode: 'off' } })).status).toBe(200)
      expect((await status(second)).sharing).toMatchObject({ uploading: false, reason: 'sharing is off', seeding: [] })
    } finally {
      await second.cli.stop()
    }
  }, 120_000)

  it('a periodic check finds an update, downloads it in background mode, and installs it only inside the install window', async () => {
    const dir = await tempDir()
    const data = join(dir, 'data')
    const env = { SHOAL_DATA_DIR: data }
    const first = await startAgent(data, join(dir, 'no-policy.json'))
    const pub = join(f.keyDir, 'publisher.pub')
    try {
      const added = await runCli(['add', `${proxy.url}/game/channels/stable.json`, '--pubkey', pub, '--dir', join(dir, 'install'), '--json'], env)
      expect(added.code, added.stderr).toBe(0)
      const job = (added.last['job'] as { id: string }).id
      await waitForJob(first, job, (j) => j.state === 'done')
      const history = await runCli(['history', '--json'], env)
      expect((history.last['entries'] as unknown[]).length).toBe(1)
      const hour = new Date().getUTCHours()
      const closed = { fromHour: (hour + 2) % 24, toHour: ((hour + 3) % 24) || 24 }
      expect((await first.api('PATCH', '/api/settings', { checkIntervalMinutes: 1, schedule: { timeZone: 'UTC', installWindow: closed } })).status).toBe(200)
    } finally {
      await first.cli.stop()
    }
    // A point release on the same channel.
    const v2 = join(dir, 'build-v2')
    await mkdir(join(v2, 'data'), { recursive: true })
    await writeFile(join(v2, 'data', 'assets.pak'), await readFile(join(fixtureDir, 'build', 'data', 'assets.pak')))
    await writeFile(join(v2, 'readme.txt'), seededText('agent-readme-v2', 60_000))
    const published = await f.publish(v2, '1.1.0')
    expect(published.code, published.stderr).toBe(0)

    const second = await startAgent(data, join(dir, 'no-policy.json'))
    try {
      // The first check comes a few seconds after start (1-2 % of the interval, plus jitter).
      let update: Job | undefined
      for (const started = Date.now(); !update && Date.now() - started < 30_000; await sleep(200)) {
        update = (await status(second)).jobs.find((j) => j.kind === 'update')
      }
      expect(update).toMatchObject({ mode: 'background', fromVersion: '1.0.0', version: '1.1.0' })
      const waiting = await waitForJob(second, update!.id, (j) => j.state === 'waiting')
      expect(waiting.detail).toMatch(/installs between/)
      expect((await status(second)).products[0]).toMatchObject({ installedVersion: '1.0.0', state: 'installing' })
      expect((await second.api('PATCH', '/api/settings', { schedule: { installWindow: null } })).status).toBe(200)
      await waitForJob(second, update!.id, (j) => j.state === 'done')
      expect((await status(second)).products[0]).toMatchObject({ installedVersion: '1.1.0', state: 'up-to-date' })
      expect(await treeHash(join(dir, 'install'))).toEqual(await treeHash(v2))

      // Rollback and verify run through the same queue.
      const productId = update!.productId
      const rollback = await second.api('POST', '/api/jobs', { productId, kind: 'rollback' })
      expect(rollback.status).toBe(201)
      expect(await waitForJob(second, rollback.json['id'] as string, (j) => j.state === 'done')).toMatchObject({ version: '1.0.0', fromVersion: '1.1.0' })
      expect((await status(second)).products[0]!.installedVersion).toBe('1.0.0')
      const verify = await second.api('POST', '/api/jobs', { productId, kind: 'verify' })
      expect(await waitForJob(second, verify.json['id'] as string, (j) => j.state === 'done')).toMatchObject({ version: '1.0.0', error: null })
    } finally {
      await second.cli.stop()
    }
  }, 120_000)
})
