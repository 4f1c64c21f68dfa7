// One small HTTP request with node:http(s): announces, peer passes and revocation lists. The
// global fetch loads undici, a few MiB of RSS a job that only talks to its tracker does not need.

export interface HttpAnswer {
  readonly status: number
  readonly body: Buffer
}

export interface HttpRequest {
  readonly method?: 'GET' | 'POST'
  readonly headers?: Record<string, string>
  readonly body?: string
  readonly signal: AbortSignal
}

/** The status and body of one request to an http: or https: URL. */
export function httpRequest(url: string, r: HttpRequest): Promise<HttpAnswer> {
  // Through getBuiltinModule, as resource-fetch.ts: an ES import of node:http evaluates its lazy
  // exports (Node's bundled undici, http2, web streams), 5 MiB of RSS.
  const { request } = url.startsWith('https:') ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http')
  return new Promise((resolve, reject) => {
    const req = request(url, { method: r.method ?? 'GET', headers: r.headers, signal: r.signal }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (d: Buffer) => parts.push(d))
      res.on('error', reject)
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }))
    })
    req.on('error', reject)
    req.end(r.body)
  })
}
