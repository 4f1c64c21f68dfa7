import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { startTracker, type RunningTracker } from '../../app/tracker/tracker-server.ts'
import { MemoryStore } from '../../app/tracker/memory-store.ts'
import { LABELLED_SWARMS, storeLimits } from '../../app/tracker/tracker-store.ts'
import { announce as announceTo, request, text, type AnnounceReply } from '../support/announce.ts'

const running: RunningTracker[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.close()))
})

async function tracker(token?: string): Promise<RunningTracker> {
  const t = await startTracker({ port: 0, host: '127.0.0.1', token })
  running.push(t)
  return t
}

async function announce(t: RunningTracker, infoHash: Buffer, from: string, extra: Record<string, string> = {}, peerId = randomBytes(20)): Promise<AnnounceReply> {
  return announceTo(t.announceUrl, infoHash, from, extra, peerId)
}

describe('shoal tracker', () => {
  it('refuses announces without the right token', async () => {
    const t = await tracker('s3cret')
    const hash = randomBytes(20)
    expect(text((await announce(t, hash, '127.0.0.1'))['failure reason'])).toMatch(/bad token/)
    expect(text((await announce(t, hash, '127.0.0.1', { token: 'wrong!' }))['failure reason'])).toMatch(/bad token/)
    const ok = await announce(t, hash, '127.0.0.1', { token: 's3cret' })
    expect(ok['failure reason']).toBeUndefined()
    expect(ok.interval).toBeGreaterThan(0)
  })

  it('gates scrape by the token and serves no public stats', async () => {
    const open = await tracker()
    expect((await request(open.announceUrl.replace('/announce', '/scrape'))).status).toBe(403)
    const t = await tracker('s3cret')
    expect((await request(t.announceUrl.replace('/announce', '/scrape'))).status).toBe(403)
    expect((await request(t.announceUrl.replace('/announce', '/scrape?token=s3cret'))).status).toBe(200)
    for (const path of ['/stats', '/stats.json']) expect((await request(t.announceUrl.replace('/announce', path))).status).toBe(404)
  })

  it('hands out peers on the requester subnet first', async () => {
    const t = await tracker()
    const hash = randomBytes(20)
    const far = Array.from({ length: 8 }, (_, i) => `127.0.${2 + i}.9`)
    for (const ip of [...far, '127.0.1.7', '127.0.1.8']) await announce(t, hash, ip)
    const me = randomBytes(20)
    for (let round = 0; round < 5; round++) {
      const reply = await announce(t, hash, '127.0.1.1', { numwant: '3', event: 'update', left: '100' }, me)
      const ips = (reply.peers ?? []).map((p) => text(p.ip))
      expect(ips.slice(0, 2).sort(), `round ${round}: ${ips.join(', ')}`).toEqual(['127.0.1.7', '127.0.1.8'])
      expect(ips).not.toContain('127.0.1.1')
    }
  })
})

describe('shoal tracker bounds (issue 18, item 9)', () => {
  it('caps the swarms a token holder can create, and keeps metrics labels bounded', async () => {
    const t = await startTracker({ port: 0, host: '127.0.0.1', token: 'tok', store: new MemoryStore(storeLimits(60_000, 60)) })
    running.push(t)
    const hashes = Array.from({ length: 80 }, () => randomBytes(20))
    const replies = []
    for (const h of hashes) replies.push(await announce(t, h, '127.0.0.1', { token: 'tok' }))
    const refused = replies.map((r) => text(r['failure reason']))
    expect(refused.slice(0, 60).every((r) => r === '')).toBe(true)
    expect(refused.slice(60).every((r) => /swarm limit reached \(60\)/.test(r))).toBe(true)
    // A swarm it already has still takes new peers.
    expect((await announce(t, hashes[0]!, '127.0.0.2', { token: 'tok' }))['failure reason']).toBeUndefined()
    const metrics = (await request(t.announceUrl.replace('/announce', '/metrics?token=tok'))).body.toString()
    expect(metrics).toMatch(/^shoal_tracker_swarms 60$/m)
    expect(metrics).toMatch(/^shoal_tracker_seeders_all 61$/m)
    expect(metrics.match(/^shoal_tracker_seeders\{/gm)).toHaveLength(LABELLED_SWARMS)
  })
})

describe('shoal tracker (command)', () => {
  it('listens, takes announces with the token from --token-file, and stops on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-tracker-'))
    try {
      await writeFile(join(dir, 'token'), 'from-a-file\n', { mode: 0o600 })
      const cli = fileURLToPath(new URL('../../app/cli/shoal.ts', import.meta.url))
      const child = spawn(process.execPath, [cli, 'tracker', '--port', '0', '--token-file', join(dir, 'token'), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      const listening = await new Promise<{ announce: string }>((resolve) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString()
          const line = out.split('\n').find((l) => l.includes('"listening"'))
          if (line) resolve(JSON.parse(line) as { announce: string })
        })
      })
      const t = { announceUrl: listening.announce, close: async () => undefined }
      expect((await announce(t, randomBytes(20), '127.0.0.1', { token: 'from-a-file' }))['failure reason']).toBeUndefined()
      child.kill('SIGTERM')
      const code = await new Promise((resolve) => child.once('exit', resolve))
      expect(code).toBe(0)
      expect(out).toMatch(/"event":"stopped"/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
