import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { startTracker, type RunningTracker } from '../../app/tracker/tracker-server.ts'
import { escapeBytes as escape } from '../support/announce.ts'

const running: RunningTracker[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.close()))
})

describe('tracker operator view', () => {
  it('serves Prometheus metrics only with the token, and counts opt-in offload reports', async () => {
    const t = await startTracker({ port: 0, host: '127.0.0.1', token: 'op-token' })
    running.push(t)
    const base = t.announceUrl.replace(/\/announce$/, '')
    const hash = randomBytes(20)
    for (const [port, left] of [['6881', '0'], ['6882', '100']] as const) {
      const q = new URLSearchParams({ port, uploaded: '0', downloaded: '0', left, compact: '1', event: 'started', token: 'op-token' }).toString()
      expect((await fetch(`${t.announceUrl}?info_hash=${escape(hash)}&peer_id=${escape(randomBytes(20))}&${q}`)).status).toBe(200)
    }
    expect((await fetch(`${base}/metrics`)).status).toBe(403)
    expect((await fetch(`${base}/metrics?token=wrong`)).status).toBe(403)
    const report = (body: unknown, token = 'op-token') => fetch(`${base}/report?token=${token}`, { method: 'POST', body: JSON.stringify(body) })
    expect((await report({ infoHash: hash.toString('hex'), cdn: 100, lan: 300, wan: 0, peerRefusals: { revoked: 2, 'no-certificate': 1 } })).status).toBe(204)
    expect((await report({ infoHash: 'nope', cdn: 1 })).status).toBe(400)
    // Refusal reasons are a closed set: an invented one is refused, so labels stay bounded.
    expect((await report({ infoHash: hash.toString('hex'), cdn: 1, lan: 0, wan: 0, peerRefusals: { 'made-up': 1 } })).status).toBe(400)
    expect((await report({ infoHash: hash.toString('hex'), cdn: 1, lan: 0, wan: 0 }, 'wrong')).status).toBe(403)

    const res = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer op-token' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
    const text = await res.text()
    expect(text).toMatch(/^# TYPE shoal_tracker_swarms gauge$/m)
    expect(text).toMatch(/^shoal_tracker_swarms 1$/m)
    expect(text).toContain(`shoal_tracker_seeders{infohash="${hash.toString('hex')}"} 1`)
    expect(text).toContain(`shoal_tracker_leechers{infohash="${hash.toString('hex')}"} 1`)
    expect(text).toMatch(/^shoal_tracker_announces_total 2$/m)
    expect(text).toMatch(/^shoal_tracker_announces_per_second 0\.0333/m)
    expect(text).toMatch(/^shoal_offload_reports_total 1$/m)
    expect(text).toContain('shoal_offload_bytes_total{source="lan"} 300')
    expect(text).toContain('shoal_peer_refusals_total{reason="revoked"} 2')
    expect(text).toContain('shoal_peer_refusals_total{reason="no-certificate"} 1')
  })

  it('without a token, metrics are off', async () => {
    const t = await startTracker({ port: 0, host: '127.0.0.1', token: undefined })
    running.push(t)
    expect((await fetch(t.announceUrl.replace(/\/announce$/, '/metrics'))).status).toBe(403)
  })
})
