import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join, normalize } from 'node:path'

/**
 * One misbehaviour per server, applied to chunk-store range requests (pointers and manifests are served straight).
 * `fail-mid-range`: once `failAfterBytes` store bytes went out, the next request for the second
 * step of a range (a capped CDN client asks for a range in steps) and every store request after
 * it get a 404: the CDN is gone in the middle of a range.
 * `trickle`: every store range drips one byte every 200 ms, never silent for a second and never done.
 */
export type Fault = 'none' | 'wrong-bytes' | 'ignore-range' | 'truncate' | 'retry-after' | 'stall' | 'etag-change' | 'fail-mid-range' | 'trickle'

export interface FaultOptions {
  /** `fail-mid-range`: store bytes served whole before the CDN may fail. */
  readonly failAfterBytes?: number
}

export interface FaultServer {
  readonly url: string
  /** Range requests seen, with the If-Range header each carried. */
  readonly requests: { path: string; range: string | undefined; ifRange: string | undefined }[]
  /** Store byte ranges [start, end) sent whole with a 206, in order. */
  readonly served: { path: string; start: number; end: number }[]
  /** `fail-mid-range`: the store range [start, end) of the request that failed first, once it did. */
  readonly failedAt: () => { start: number; end: number } | undefined
  close(): Promise<void>
}

/** A small static server over `root` with byte ranges, that misbehaves as `fault` says. */
export async function startFaultServer(root: string, fault: Fault, options: FaultOptions = {}): Promise<FaultServer> {
  const stores = new Map<string, Buffer>()
  const requests: FaultServer['requests'] = []
  const served: FaultServer['served'] = []
  let storeRequests = 0
  // fail-mid-range: a CDN client under a rate cap asks for a range in steps of one size, back to
  // back (one connection); a request continues a range when it starts where a full-size step ended.
  let failedAt: { start: number; end: number } | undefined
  let servedBytes = 0
  let stepSize = 0
  let previous: { end: number; length: number; continues: boolean } | undefined
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = normalize(decodeURIComponent(new URL(req.url!, 'http://x').pathname))
    // A chunk store (one per version, never rewritten) is read once per server: reading a 64 MiB
    // store again for every range kept a loaded machine from answering within a 1 s --stall-timeout.
    // Pointers and manifests are read each time: a test may publish while the server runs.
    let body: Buffer
    try {
      body = stores.get(path) ?? (await readFile(join(root, path)))
    } catch {
      res.writeHead(404).end()
      return
    }
    const isStore = path.endsWith('.chunks')
    if (isStore) stores.set(path, body)
    const range = req.headers.range
    const ifRange = req.headers['if-range'] as string | undefined
    if (isStore) requests.push({ path, range, ifRange })
    const n = isStore ? ++storeRequests : 0
    let etag = '"v1"'
    if (fault === 'etag-change' && n > 1) etag = '"v2"'
    if (fault === 'retry-after' && isStore && n <= 2) {
      res.writeHead(503, { 'retry-after': '1' }).end('busy')
      return
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(range ?? '')
    if (fault === 'fail-mid-range' && isStore && m) {
      const [start, end] = [Number(m[1]), Number(m[2]) + 1]
      const continues = previous !== undefined && previous.end === start && previous.length === stepSize
      stepSize = Math.max(stepSize, end - start)
      // The second step of a range, not a later one: its first step went out whole, the rest of
      // the range did not.
      const secondStep = continues && !previous!.continues
      previous = { end, length: end - start, continues }
      if (!failedAt && secondStep && servedBytes >= (options.failAfterBytes ?? 0)) failedAt = { start, end }
      if (failedAt) {
        res.writeHead(404).end()
        return
      }
    }
    const honourRange = m && !(fault === 'ignore-range' && isStore) && !(ifRange && ifRange !== etag)
    if (!honourRange) {
      res.writeHead(200, { 'content-length': body.length, etag }).end(body)
      return
    }
    const start = Number(m[1])
    const end = Math.min(Number(m[2]), body.length - 1)
    let part = Buffer.from(body.subarray(start, end + 1))
    if (fault === 'wrong-bytes' && isStore) part = Buffer.from(part.map((b, i) => (i % 4096 === 7 ? b ^ 0xff : b)))
    res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': part.length, etag })
    if (fault === 'truncate' && isStore && n === 1) {
      res.write(part.subarray(0, part.length >> 1))
      res.destroy()
      return
    }
    if (fault === 'trickle' && isStore) {
      let sent = 0
      const drip = setInterval(() => res.write(part.subarray(sent, ++sent)), 200)
      res.once('close', () => clearInterval(drip))
      return
    }
    if (fault === 'stall' && isStore && n === 1) {
      res.write(part.subarray(0, 1024))
      return // never finishes: the client must notice the stall
    }
    res.end(part)
    if (isStore) {
      served.push({ path, start, end: start + part.length })
      servedBytes += part.length
    }
  }
  const server: Server = createServer((req, res) => void handle(req, res))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    served,
    failedAt: () => failedAt,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
