// `sh .ci/node24 node test/bench/agent-memory.ts`: the resident memory of `shoal agent` started
// the way users start it (bin/shoal, so its V8, malloc and compile-cache settings apply), in three
// states: idle (listening, no products, nobody has called), after one API call (the control API's
// web framework loads with the first request), and after one 3 MiB install with sharing off (so
// nothing seeds), `--settle` seconds after its job finished, and `--settle` seconds after sharing
// is then turned on, with nobody fetching the release (its seed scouts). Figures are VmRSS and VmHWM from
// /proc/PID/status: bin/shoal execs node, so the pid is node's. The first start (warm-up) fills the
// compile cache and is not counted; the medians are of the later runs. README, "An idle agent's memory".
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { Command } from 'commander'
import { startStaticServer } from '../../app/demo/static-server.ts'
import { makeFixture } from '../support/release-fixture.ts'
import { testAdmissionKey } from '../support/admission-key.ts'

const SHOAL = fileURLToPath(new URL('../../bin/shoal', import.meta.url))
const opts = new Command('agent-memory')
  .option('--runs <n>', 'agent starts measured after the warm-up one', (v) => Number(v), 3)
  .option('--idle <seconds>', 'how long the agent idles before the first reading', (v) => Number(v), 5)
  .option('--settle <seconds>', 'how long after the install before the last reading (V8 keeps the heap pages of ended worker threads for about 10 s)', (v) => Number(v), 15)
  .parse()
  .opts<{ runs: number; idle: number; settle: number }>()

interface Reading {
  readonly rss: number
  readonly hwm: number
}

const STATES = ['idle', 'after one API call', 'after one install', 'sharing, nobody fetching'] as const
const MiB = 2 ** 20

async function reading(pid: number): Promise<Reading> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const bytes = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024
  return { rss: bytes('VmRSS'), hwm: bytes('VmHWM') }
}

const size = (b: number) => `${(b / MiB).toFixed(1)} MiB (${(b / 1e6).toFixed(1)} MB)`
const fmt = (r: Reading) => `VmRSS ${size(r.rss)}, VmHWM ${size(r.hwm)}`
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** One agent start: its three readings. */
async function measure(work: string, cdnUrl: string, pub: string): Promise<Reading[]> {
  const dataDir = await mkdtemp(join(work, 'data-'))
  const child: ChildProcess = spawn(SHOAL, ['agent', '--data-dir', dataDir, '--port', '0', '--no-lsd', '--policy', join(work, 'no-policy.json'), '--json'], {
    // The fixture's release admits peers with this process's admission key (a pass to seed it).
    env: { ...process.env, SHOAL_NO_LSD: '1', SHOAL_ADMISSION_KEY: testAdmissionKey().key },
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  try {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    while (!out.includes('"listening"')) {
      if (child.exitCode !== null) throw new Error(`the agent exited (${child.exitCode})`)
      await sleep(50)
    }
    const { port } = JSON.parse(out.split('\n').find((l) => l.includes('"listening"'))!) as { port: number }
    const token = (await readFile(join(dataDir, 'agent.token'), 'utf8')).trim()
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) })
      return (await res.json()) as Record<string, unknown>
    }
    const readings: Reading[] = []
    await sleep(opts.idle * 1000)
    readings.push(await reading(child.pid!))
    await api('GET', '/api/status')
    await sleep(opts.idle * 1000)
    readings.push(await reading(child.pid!))
    const added = await api('POST', '/api/products', { channelUrl: `${cdnUrl}/game/channels/stable.json`, publicKey: pub, installDir: join(dataDir, 'install') })
    const job = await api('POST', '/api/jobs', { productId: added['id'], kind: 'install' })
    for (;;) {
      const status = (await api('GET', '/api/status')) as { jobs: { id: string; state: string }[]; sharing: { seeding: string[] } }
      const state = status.jobs.find((j) => j.id === job['id'])?.state
      if (state === 'failed') throw new Error('the install failed')
      if (state === 'done') {
        if (status.sharing.seeding.length > 0) throw new Error('the agent seeds: sharing should be off')
        break
      }
      await sleep(200)
    }
    await sleep(opts.settle * 1000)
    readings.push(await reading(child.pid!))
    await api('PATCH', '/api/settings', { sharing: { consentGiven: true, mode: 'lan', minFreeDisk: 0 } })
    for (;;) {
      const status = (await api('GET', '/api/status')) as { sharing: { seeding: string[]; seedProblems?: Record<string, string> } }
      if (status.sharing.seeding.length > 0) break
      const problem = Object.values(status.sharing.seedProblems ?? {})[0]
      if (problem) throw new Error(`the agent does not seed: ${problem}`)
      await sleep(200)
    }
    await sleep(opts.settle * 1000)
    readings.push(await reading(child.pid!))
    return readings
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
    }
  }
}

const work = await mkdtemp(join(tmpdir(), 'shoal-agent-memory-'))
try {
  const f = await makeFixture(work, 3 * 1024 * 1024)
  const published = await f.publish(f.build, '1.0.0')
  if (published.code !== 0) throw new Error(published.stderr)
  const cdn = await startStaticServer(f.cdn)
  const pub = await readFile(join(f.keyDir, 'publisher.pub'), 'utf8')
  try {
    const runs: Reading[][] = []
    for (let run = 0; run <= opts.runs; run++) {
      const readings = await measure(work, cdn.url, pub)
      console.log(`${run === 0 ? 'warm-up' : `run ${run}`}: ${STATES.map((s, i) => `${s}: ${fmt(readings[i]!)}`).join('; ')}`)
      if (run > 0) runs.push(readings)
    }
    console.log(`\nmedian of ${runs.length} (${opts.idle} s idle, ${opts.settle} s after the install):`)
    for (const [i, s] of STATES.entries()) console.log(`  ${s.padEnd(26)} VmRSS ${size(median(runs.map((r) => r[i]!.rss)))}, VmHWM ${size(median(runs.map((r) => r[i]!.hwm)))}`)
  } finally {
    await cdn.close()
  }
} finally {
  await rm(work, { recursive: true, force: true })
}
