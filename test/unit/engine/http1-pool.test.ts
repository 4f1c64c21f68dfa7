import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net'
import { createServer, type Server } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { Http1Pool, type PoolRequest } from '../../../app/engine/sources/cdn/http1-pool.ts'

const BODY = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251))

let servers: (Server | TcpServer)[] = []
let pools: Http1Pool[] = []

afterEach(async () => {
  for (const p of pools) p.close()
  for (const s of servers) {
    if ('closeAllConnections' in s) s.closeAllConnections()
    await new Promise((r) => s.close(r))
  }
  servers = []
  pools = []
})

async function listen<S extends Server | TcpServer>(server: S): Promise<URL> {
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}`)
}

/** A range server over BODY; `mode` picks how it answers. */
async function rangeServer(mode: 'range' | 'chunked-200' | 'truncate' | 'stall' | 'close-idle'): Promise<{ url: URL; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    sockets.add(req.socket)
    const [start, end] = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '')!.slice(1).map(Number) as [number, number]
    const part = BODY.subarray(start, end + 1)
    if (mode === 'chunked-200') {
      res.writeHead(200)
      for (let at = 0; at < BODY.length; at += 7777) res.write(BODY.subarray(at, at + 7777))
      res.end()
      return
    }
    res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${BODY.length}`, 'content-length': part.length })
    if (mode === 'truncate') return void res.end(part.subarray(0, 1000), () => req.socket.destroy())
    if (mode === 'stall') return void res.write(part.subarray(0, 1000))
    res.end(part)
    if (mode === 'close-idle') res.on('finish', () => setTimeout(() => req.socket.destroy(), 20))
  })
  server.keepAliveTimeout = 60_000
  return { url: await listen(server), sockets }
}

function get(pool: Http1Pool, start: number, end: number, extra: Partial<PoolRequest> = {}) {
  const into = Buffer.alloc(end - start)
  return pool.request({ path: '/store', headers: { range: `bytes=${start}-${end - 1}` }, idleMs: 2000, plan: (head) => ({ skip: head.status === 200 ? start : 0, into }), ...extra }).then((r) => ({ ...r, into }))
}

function pool(url: URL): Http1Pool {
  const p = new Http1Pool(url, 2, 30_000)
  pools.push(p)
  return p
}

describe('HTTP/1.1 range pool', () => {
  it('reads ranges into the caller buffer and reuses one kept-alive socket', async () => {
    const { url, sockets } = await rangeServer('range')
    const p = pool(url)
    for (const [start, end] of [[0, 100_000], [123_456, 300_000], [5, 6]] as const) {
      const r = await get(p, start, end)
      expect(r.head.status).toBe(206)
      expect(r.filled).toBe(end - start)
      expect(r.into.equals(BODY.subarray(start, end))).toBe(true)
    }
    expect(sockets.size).toBe(1)
  })

  it('unframes a chunked 200, takes the wanted slice out of it, and does not reuse that socket', async () => {
    const { url, sockets } = await rangeServer('chunked-200')
    const p = pool(url)
    const a = await get(p, 10_000, 20_000)
    expect(a.into.equals(BODY.subarray(10_000, 20_000))).toBe(true)
    const b = await get(p, 290_000, 300_000)
    expect(b.into.equals(BODY.subarray(290_000, 300_000))).toBe(true)
    expect(sockets.size).toBe(2)
  })

  it('fails a truncated body and a stalled one, saying how far each got', async () => {
    const truncated = await rangeServer('truncate')
    await expect(get(pool(truncated.url), 0, 50_000)).rejects.toThrow(/after 1000 of 50000 bytes/)
    const stalled = await rangeServer('stall')
    await expect(get(pool(stalled.url), 0, 50_000, { idleMs: 300 })).rejects.toThrow(/no bytes for 300 ms after 1000 of 50000 bytes/)
  })

  it('rejects with the error the plan throws', async () => {
    const { url } = await rangeServer('range')
    await expect(get(pool(url), 0, 10, { plan: () => { throw new Error('refused by the caller') } })).rejects.toThrow('refused by the caller')
  })

  it('retries on a fresh socket when the server closed the kept-alive one', async () => {
    const { url, sockets } = await rangeServer('close-idle')
    const p = pool(url)
    await get(p, 0, 10)
    await new Promise((r) => setTimeout(r, 100))
    const r = await get(p, 10, 20)
    expect(r.into.equals(BODY.subarray(10, 20))).toBe(true)
    expect(sockets.size).toBe(2)
  })

  it('holds reading while onBytes waits, and counts every body byte', async () => {
    const { url } = await rangeServer('range')
    let counted = 0
    let waits = 0
    const r = await get(pool(url), 0, 300_000, {
      onBytes: (n) => {
        counted += n
        return counted < 200_000 ? (waits++, new Promise((res) => setTimeout(res, 5))) : undefined
      },
    })
    expect(r.into.equals(BODY)).toBe(true)
    expect(counted).toBe(300_000)
    expect(waits).toBeGreaterThan(0)
  })

  it('counts skipped bytes too when a server ignores Range', async () => {
    const { url } = await rangeServer('chunked-200')
    let counted = 0
    const r = await get(pool(url), 290_000, 300_000, { onBytes: (n) => void (counted += n) })
    expect(r.into.equals(BODY.subarray(290_000))).toBe(true)
    expect(counted).toBe(300_000)
  })

  it('ends a request at once when its signal aborts, sent or still queued, with the reason', async () => {
    const { url } = await rangeServer('stall')
    const p = new Http1Pool(url, 1, 30_000)
    pools.push(p)
    const sent = new AbortController()
    const queued = new AbortController()
    // The first request is cut once its first bytes are in; the second waits for its connection.
    const first = get(p, 0, 10_000, { signal: sent.signal, onBytes: () => void sent.abort(new Error('trickled')) })
    const second = get(p, 0, 10_000, { signal: queued.signal })
    queued.abort(new Error('cut while queued'))
    await expect(second).rejects.toThrow('cut while queued')
    await expect(first).rejects.toThrow(/^trickled after 1000 of 10000 bytes$/)
  })

  it('refuses bytes that are not HTTP', async () => {
    const server = createTcpServer((s) => s.end('SSH-2.0-nope\r\n\r\n', () => s.destroy()))
    const url = await listen(server)
    await expect(get(pool(url), 0, 10)).rejects.toThrow(/not an HTTP\/1.x response/)
  })
})
