// `shoal tracker --redis`: stateless instances over one real redis-server (Debian's, on a
// free loopback port, no persistence), as separate processes.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { announce, escapeBytes as escape, peerIds, request, text, type AnnounceReply } from '../support/announce.ts'
import { freePort } from '../support/free-port.ts'
import { startCli, type LongRunningCli } from '../support/long-running-cli.ts'
import { startRedis, type TestRedis } from '../support/redis-server.ts'

let redis: TestRedis
let dir: string
const running: LongRunningCli[] = []

beforeAll(async () => {
  redis = await startRedis()
  dir = await mkdtemp(join(tmpdir(), 'shoal-tracker-redis-'))
  await writeFile(join(dir, 'token'), 'tok\n', { mode: 0o600 })
})
afterAll(async () => {
  await Promise.all(running.splice(0).map((t) => t.stop()))
  await redis.dispose()
  await rm(dir, { recursive: true, force: true })
})

/** A tracker process over `url`; resolves with its announce URL once it listens. */
async function instance(url: string, ...flags: string[]): Promise<{ cli: LongRunningCli; announceUrl: string }> {
  const cli = startCli(['tracker', '--port', '0', '--redis', url, '--token-file', join(dir, 'token'), '--interval', '60s', ...flags])
  running.push(cli)
  const listening = await cli.waitFor('listening')
  return { cli, announceUrl: listening['announce'] as string }
}

const withToken = (extra: Record<string, string> = {}) => ({ token: 'tok', ...extra })
const id = () => randomBytes(20)
const hex = (b: Buffer) => b.toString('hex')
const metricsOf = async (announceUrl: string) => (await request(announceUrl.replace('/announce', '/metrics?token=tok'))).body.toString()

/** Polls until `check` holds (instances add their announce counts to Redis once a second). */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`never: ${what}`)
}

describe('shoal tracker --redis', () => {
  it('serves one swarm from two instances, matching by site, reachability and spare upload, never by IP alone', async () => {
    const db = `${redis.url}/1`
    const [one, two] = await Promise.all([instance(db), instance(db)])
    const hash = randomBytes(20)
    const [natA, natB, office, far, atCap, hidden, open, me] = Array.from({ length: 8 }, id)
    const left = { left: '100' }
    // Two colleagues behind one NAT address, through different instances.
    await announce(one.announceUrl, hash, '127.0.0.5', withToken({ ...left, site: 'office' }), natA)
    const b = await announce(two.announceUrl, hash, '127.0.0.5', withToken({ ...left, site: 'office' }), natB)
    expect(peerIds(b)).toEqual([hex(natA!)])
    await announce(one.announceUrl, hash, '127.0.9.9', withToken({ site: 'office', spare: '5000000', reach: '1' }), office)
    await announce(two.announceUrl, hash, '127.0.3.3', withToken(), far)
    await announce(one.announceUrl, hash, '127.0.4.4', withToken({ site: 'lab', spare: '0' }), atCap)
    await announce(two.announceUrl, hash, '127.0.5.5', withToken({ site: 'lab', reach: '0' }), hidden)
    await announce(one.announceUrl, hash, '127.0.6.6', withToken({ site: 'lab', reach: '1' }), open)
    for (let round = 0; round < 5; round++) {
      const inOffice = await announce(round % 2 ? one.announceUrl : two.announceUrl, hash, '127.0.7.7', withToken({ ...left, site: 'office', event: '' }), me)
      const ids = peerIds(inOffice)
      expect(ids.slice(0, 3).sort()).toEqual([natA!, natB!, office!].map(hex).sort())
      expect(ids).not.toContain(hex(atCap!))
      expect(ids).not.toContain(hex(me!))
      // An unreachable requester in the lab gets the reachable lab peer before the hidden one.
      const inLab = await announce(one.announceUrl, hash, '127.0.8.8', withToken({ ...left, site: 'lab', reach: '0', event: '' }), me)
      expect(peerIds(inLab).slice(0, 2)).toEqual([hex(open!), hex(hidden!)])
    }
  })

  it('loses no swarm state when one instance is killed mid-load: clients fail over along their announce list', async () => {
    const db = `${redis.url}/2`
    const [first, second] = await Promise.all([instance(db), instance(db)])
    const tiers = [first.announceUrl, second.announceUrl]
    const swarms = Array.from({ length: 4 }, () => randomBytes(20))
    const peers = Array.from({ length: 200 }, (_, i) => ({ id: id(), hash: swarms[i % 4]!, from: `127.0.${10 + (i % 50)}.${1 + (i % 200)}` }))
    let failedOver = 0
    /** As a client walks a tiered announce list: the next tracker when one does not answer. */
    const tiered = async (p: (typeof peers)[number]): Promise<AnnounceReply> => {
      for (const [i, url] of tiers.entries()) {
        try {
          const reply = await announce(url, p.hash, p.from, withToken({ left: '100' }), p.id)
          if (i > 0) failedOver++
          return reply
        } catch {
          continue
        }
      }
      throw new Error('no tracker answered')
    }
    for (let batch = 0; batch < 10; batch++) {
      if (batch === 5) await first.cli.stop('SIGKILL')
      const replies = await Promise.all(peers.slice(batch * 20, batch * 20 + 20).map(tiered))
      expect(replies.every((r) => r['failure reason'] === undefined)).toBe(true)
    }
    expect(failedOver).toBe(100)
    const scrape = await request(`${second.announceUrl.replace('/announce', '/scrape')}?token=tok&${swarms.map((h) => `info_hash=${escape(h)}`).join('&')}`)
    expect(scrape.body.toString('latin1').match(/incompletei(\d+)e/g)).toEqual(['incompletei50e', 'incompletei50e', 'incompletei50e', 'incompletei50e'])
    const m = await metricsOf(second.announceUrl)
    expect(m).toMatch(/^shoal_tracker_swarms 4$/m)
    expect(m).toMatch(/^shoal_tracker_leechers_all 200$/m)
    // Announce counts are batched for a second per instance: the killed one's last batch is gone.
    expect(Number(/^shoal_tracker_announces_total (\d+)$/m.exec(m)?.[1])).toBeGreaterThanOrEqual(100)
  })

  it('caps swarms across instances, and aggregates metrics and offload from all of them', async () => {
    const db = `${redis.url}/3`
    const [one, two] = await Promise.all([instance(db, '--max-swarms', '3'), instance(db, '--max-swarms', '3')])
    const [h1, h2, h3, h4] = Array.from({ length: 4 }, () => randomBytes(20))
    expect((await announce(one.announceUrl, h1!, '127.0.0.1', withToken({ site: 'berlin' })))['failure reason']).toBeUndefined()
    expect((await announce(one.announceUrl, h2!, '127.0.0.1', withToken({ site: 'berlin' })))['failure reason']).toBeUndefined()
    expect((await announce(two.announceUrl, h3!, '127.0.0.2', withToken({ left: '5' })))['failure reason']).toBeUndefined()
    expect(text((await announce(two.announceUrl, h4!, '127.0.0.2', withToken()))['failure reason'])).toMatch(/swarm limit reached \(3\)/)
    expect(text((await announce(one.announceUrl, h4!, '127.0.0.2', withToken()))['failure reason'])).toMatch(/swarm limit reached \(3\)/)
    const report = await fetch(two.announceUrl.replace('/announce', '/report?token=tok'), { method: 'POST', body: JSON.stringify({ infoHash: hex(h1!), cdn: 10, lan: 30, wan: 5 }) })
    expect(report.status).toBe(204)
    await eventually('metrics count the announces of both instances', async () => /^shoal_tracker_announces_total 3$/m.test(await metricsOf(one.announceUrl)))
    const m = await metricsOf(one.announceUrl)
    expect(m).toMatch(/^shoal_tracker_swarms 3$/m)
    expect(m).toMatch(/^shoal_tracker_seeders_all 2$/m)
    expect(m).toMatch(/^shoal_tracker_leechers_all 1$/m)
    expect(m).toContain('shoal_tracker_site_peers{site="berlin"} 2')
    expect(m).toContain('shoal_tracker_site_peers{site="127.0.0.0/24"} 1')
    expect(m).toContain(`shoal_offload_swarm_bytes_total{infohash="${hex(h1!)}",source="lan"} 30`)
    expect(m).toContain('shoal_offload_bytes_total{source="cdn"} 10')
  })
})

describe('shoal tracker --redis faults', () => {
  it('answers with a clear failure reason while Redis is unreachable, stays up, and serves once it is back', async () => {
    const port = await freePort()
    const t = await instance(`redis://127.0.0.1:${port}`)
    expect((await t.cli.waitFor('store'))['reason']).toMatch(/ECONNREFUSED/)
    const hash = randomBytes(20)
    const reason = text((await announce(t.announceUrl, hash, '127.0.0.1', withToken()))['failure reason'])
    expect(reason).toMatch(new RegExp(`^tracker store unavailable: redis at 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)$`))
    expect((await request(t.announceUrl.replace('/announce', '/metrics?token=tok'))).status).toBe(503)
    const late = await startRedis(port)
    try {
      await eventually('the tracker reconnects', async () => (await announce(t.announceUrl, hash, '127.0.0.1', withToken()))['failure reason'] === undefined)
    } finally {
      await late.dispose()
    }
  })

  it('after a Redis restart, every peer is back once each has announced once more (one interval)', async () => {
    const own = await startRedis()
    try {
      const t = await instance(own.url)
      const hash = randomBytes(20)
      const peers = Array.from({ length: 10 }, (_, i) => ({ id: id(), from: `127.0.${20 + i}.1` }))
      for (const p of peers) await announce(t.announceUrl, hash, p.from, withToken({ left: '1' }), p.id)
      await own.stop(true)
      await own.start()
      await eventually('the tracker reconnects', async () => (await announce(t.announceUrl, hash, peers[0]!.from, withToken({ left: '1' }), peers[0]!.id))['failure reason'] === undefined)
      let last: AnnounceReply = {}
      for (const p of peers) last = await announce(t.announceUrl, hash, p.from, withToken({ left: '1', event: '' }), p.id)
      expect(last.interval).toBe(60)
      expect(last.incomplete).toBe(10)
      expect(peerIds(last).sort()).toEqual(peers.slice(0, 9).map((p) => hex(p.id)).sort())
    } finally {
      await own.dispose()
    }
  })
})

describe('shoal tracker --redis redis+sentinel://', () => {
  it('finds the primary through Sentinel (Debian redis-server --sentinel on loopback)', async () => {
    const port = await freePort()
    const conf = join(dir, 'sentinel.conf')
    // Sentinel rewrites its config file: a private one in the test folder.
    await writeFile(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor shoal 127.0.0.1 ${redis.port} 1\n`)
    const sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' })
    const exited = new Promise((r) => sentinel.once('exit', r))
    try {
      const t = await instance(`redis+sentinel://127.0.0.1:${port}/shoal/5`)
      const hash = randomBytes(20)
      const [a, b] = [id(), id()]
      await eventually('the tracker reaches the primary', async () => (await announce(t.announceUrl, hash, '127.0.0.1', withToken({ left: '1' }), a))['failure reason'] === undefined)
      expect(peerIds(await announce(t.announceUrl, hash, '127.0.0.2', withToken({ left: '1' }), b))).toEqual([hex(a!)])
    } finally {
      sentinel.kill('SIGTERM')
      await exited
    }
  })
})
