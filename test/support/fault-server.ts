import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join, normalize } from 'node:path'

/** One misbehaviour per server, applied to chunk-store range requests (pointers and manifests are served straight). */
export type Fault = 'none' | 'wrong-bytes' | 'ignore-range' | 'truncate' | 'retry-after' | 'stall' | 'etag-change'

export interface FaultServer {
  readonly url: string
  /** Range requests seen, with the If-Range header each carried. */
  readonly requests: { path: string; range: string | undefined; ifRange: string | undefined }[]
  close(): Promise<void>
}

/** A small static server over `root` with byte ranges, that misbehaves as `fault` says. */
export async function startFaultServer(root: string, fault: Fault): Promise<FaultServer> {
  const requests: FaultServer['requests'] = []
  let storeRequests = 0
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = normalize(decodeURIComponent(new URL(req.url!, 'http://x').pathname))
    let body: Buffer
    try {
      body = await readFile(join(root, path))
    } catch {
      res.writeHead(404).end()
      return
    }
    const isStore = path.endsWith('.chunks')
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
    if (fault === 'stall' && isStore && n === 1) {
      res.write(part.subarray(0, 1024))
      return // never finishes: the client must notice the stall
    }
    res.end(part)
  }
  const server: Server = createServer((req, res) => void handle(req, res))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
