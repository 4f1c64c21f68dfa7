// The tracker's hand-written HTTP front for announces (announce-front.ts) on a real socket:
// pipelined announces answered in order, one write each, and a connection handed to node:http
// with its unread bytes at the first request of another kind.
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { simpleAnnounce } from '../../app/tracker/announce-front.ts'
import { startTracker, type RunningTracker } from '../../app/tracker/tracker-server.ts'
import { escapeBytes } from '../support/announce.ts'

const running: RunningTracker[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.close()))
})

/** Writes `raw` at once and reads until `responses` HTTP responses (with Content-Length) are in. */
function exchange(port: number, raw: string, responses: number): Promise<{ status: string; body: string }[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    let buffer = Buffer.alloc(0)
    const out: { status: string; body: string }[] = []
    socket.on('data', (d: Buffer) => {
      buffer = Buffer.concat([buffer, d])
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n')
        if (end < 0) break
        const head = buffer.subarray(0, end).toString('latin1')
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0)
        if (buffer.length < end + 4 + length) break
        out.push({ status: head.split('\r\n')[0]!, body: buffer.subarray(end + 4, end + 4 + length).toString('latin1') })
        buffer = buffer.subarray(end + 4 + length)
      }
      if (out.length === responses) {
        socket.destroy()
        resolve(out)
      }
    })
    socket.on('error', reject)
    socket.write(raw)
  })
}

describe('announce front', () => {
  it('takes plain HTTP/1.1 GET /announce only', () => {
    expect(simpleAnnounce('GET /announce?a=1&b=%20 HTTP/1.1\r\nHost: x\r\nConnection: close')).toEqual({ query: 'a=1&b=%20', close: true })
    expect(simpleAnnounce('GET /announce HTTP/1.1\r\nhost: x')).toEqual({ query: '', close: false })
    for (const head of ['GET /announce?a=1 HTTP/1.0', 'POST /announce?a=1 HTTP/1.1', 'GET /announcer?a HTTP/1.1', 'GET /metrics HTTP/1.1', 'GET /announce?a=1 HTTP/1.1\r\nContent-Length: 3', 'GET /announce?a=1 HTTP/1.1\r\ntransfer-encoding: chunked'])
      expect(simpleAnnounce(head), head).toBeUndefined()
  })

  it('answers pipelined announces in order, then hands the connection to node:http', async () => {
    const t = await startTracker({ port: 0, host: '127.0.0.1', token: 'tok' })
    running.push(t)
    const port = Number(new URL(t.announceUrl).port)
    const hash = escapeBytes(randomBytes(20))
    const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`
    const ann = (n: number) => get(`/announce?info_hash=${hash}&peer_id=${escapeBytes(Buffer.alloc(20, n))}&port=${6000 + n}&left=1&token=tok`)
    const replies = await exchange(port, ann(1) + ann(2) + get('/announce?port=1') + get(`/scrape?token=tok&info_hash=${hash}`) + ann(3), 5)
    expect(replies.map((r) => r.status)).toEqual(Array(5).fill('HTTP/1.1 200 OK'))
    // Each answer counts the announces before it: they were handled in order.
    expect(replies.slice(0, 2).map((r) => /incompletei(\d+)e/.exec(r.body)?.[1])).toEqual(['1', '2'])
    expect(replies[2]!.body).toContain('failure reason')
    expect(replies[3]!.body).toMatch(/^d5:filesd20:.{20}d8:completei0e10:downloadedi0e10:incompletei2eeee$/s)
    // node:http answers the announce after the scrape: the same tracker, another front.
    expect(replies[4]!.body).toMatch(/incompletei3e/)
  })
})
