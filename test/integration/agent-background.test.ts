// Background mode against a shared, bloated downlink: the agent's CDN download alone, then
// with someone else's greedy download on the same link, then alone again. The figures are
// printed for the README; the assertions only check the direction of each change.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seededBytes } from '../../app/demo/sample-build.ts'
import type { Job } from '../../shared/api-contract.ts'
import { agentStatus, startAgent, type RunningAgent } from '../support/agent-process.ts'
import { startBottleneck, type Bottleneck } from '../support/bottleneck-proxy.ts'
import { startNginx, type Nginx } from '../support/nginx.ts'
import { makeFixture, type Fixture } from '../support/release-fixture.ts'
import { useTempDirs } from '../support/temp-dir.ts'

const LINK = 16_000_000
const QUEUE = 2_000_000
const MB = 1_000_000

let dir: string
let f: Fixture
let nginx: Nginx
const tempDir = useTempDirs()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-background-'))
  f = await makeFixture(dir, 1024)
  const build = join(dir, 'build')
  await mkdir(join(build, 'data'), { recursive: true })
  await writeFile(join(build, 'data', 'assets.pak'), seededBytes('agent-background', 160 * 1024 * 1024))
  await writeFile(join(build, 'readme.txt'), 'background mode')
  const published = await f.publish(build, '1.0.0')
  if (published.code !== 0) throw new Error(published.stderr)
  // Something else to download on the same link: the user's own traffic.
  await writeFile(join(f.cdn, 'user-download.bin'), seededBytes('user', 256 * 1024 * 1024))
  nginx = await startNginx(f.cdn, join(dir, 'nginx'))
}, 180_000)

afterAll(async () => {
  await nginx?.stop()
  await rm(dir, { recursive: true, force: true })
})

/** A greedy download through flow 1 until `signal` aborts. */
async function userDownload(link: Bottleneck, signal: AbortSignal): Promise<void> {
  try {
    const res = await fetch(`${link.urls[1]}/user-download.bin`, { signal })
    const reader = res.body!.getReader()
    while (!(await reader.read()).done);
  } catch {
    // Aborted (before or after the headers): the user's download ends here.
  }
}

async function install(agent: RunningAgent, link: Bottleneck, mode: 'background' | 'foreground', installDir: string): Promise<Job> {
  const pub = await readFile(join(f.keyDir, 'publisher.pub'), 'utf8')
  const added = await agent.api('POST', '/api/products', { channelUrl: `${link.urls[0]}/game/channels/stable.json`, publicKey: pub, installDir })
  const job = await agent.api('POST', '/api/jobs', { productId: added.json['id'], kind: 'install', mode })
  expect(job.status, JSON.stringify(job.json)).toBe(201)
  for (;;) {
    const s = await agentStatus(agent)
    if (s.jobs[0]!.bytes.cdn > 0) return s.jobs[0]!
    await sleep(100)
  }
}

interface Phase {
  readonly agent: number
  readonly user: number
  readonly queueMs: number
}

/** Rates of both flows and the mean queueing delay over `ms`. */
async function measure(link: Bottleneck, ms: number): Promise<Phase> {
  const a = link.delivered(0)
  const u = link.delivered(1)
  let queue = 0
  let samples = 0
  const t = performance.now()
  while (performance.now() - t < ms) {
    await sleep(50)
    queue += link.queueMs()
    samples++
  }
  const seconds = (performance.now() - t) / 1000
  return { agent: (link.delivered(0) - a) / seconds, user: (link.delivered(1) - u) / seconds, queueMs: queue / samples }
}

const show = (name: string, p: Phase) => `${name}: agent ${(p.agent / MB).toFixed(1)} MB/s, user ${(p.user / MB).toFixed(1)} MB/s, queue ${p.queueMs.toFixed(0)} ms`

describe('background mode', () => {
  it('yields the link to other traffic when its delay rises, and takes it back after', async () => {
    const results: string[] = []
    const runs: Record<string, { alone: Phase; shared: Phase; after?: Phase }> = {}
    for (const mode of ['background', 'foreground'] as const) {
      const work = await tempDir()
      const link = await startBottleneck(Number(new URL(nginx.url).port), 2, LINK, QUEUE)
      const agent = await startAgent(join(work, 'data'), join(work, 'no-policy.json'))
      try {
        await install(agent, link, mode, join(work, 'install'))
        await sleep(1500)
        const alone = await measure(link, 2500)
        const stop = new AbortController()
        const user = userDownload(link, stop.signal)
        await sleep(1000)
        const shared = await measure(link, 4000)
        stop.abort()
        await user
        const after = mode === 'background' ? await measure(link, 3000) : undefined
        const later = mode === 'background' ? await measure(link, 3000) : undefined
        runs[mode] = { alone, shared, ...(after ? { after } : {}) }
        results.push(`${mode} mode`, show('  alone', alone), show('  with a greedy download', shared), ...(after && later ? [show('  0-3 s after it ended', after), show('  3-6 s after it ended', later)] : []))
      } finally {
        await agent.cli.stop()
        await link.stop()
      }
    }
    console.log(`link ${LINK / MB} MB/s, queue ${QUEUE / MB} MB (${((1000 * QUEUE) / LINK).toFixed(0)} ms)\n${results.join('\n')}`)
    const bg = runs['background']!
    const fg = runs['foreground']!
    expect(bg.shared.agent).toBeLessThan(bg.alone.agent / 3)
    expect(bg.shared.user).toBeGreaterThan(fg.shared.user)
    expect(bg.after!.agent).toBeGreaterThan(2 * bg.shared.agent)
  }, 240_000)
})
