import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'

export interface RedirectServer {
  readonly url: string
  /** Requests seen, with the Range and If-Range each carried. */
  readonly requests: { path: string; range: string | undefined; ifRange: string | undefined }[]
  close(): Promise<void>
}

export interface RedirectOptions {
  /** The Location for a request path (with its query), and the status to send it with. */
  readonly to: (path: string, self: string) => { readonly location: string; readonly status?: number }
  /** Serve https with this certificate (PEM) instead of plain http. */
  readonly tls?: { readonly key: string; readonly cert: string }
}

/** A host that answers every request with a redirect: a CDN front sending clients to an edge host. */
export async function startRedirectServer(o: RedirectOptions): Promise<RedirectServer> {
  const requests: RedirectServer['requests'] = []
  let self = ''
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    requests.push({ path: req.url!, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined })
    const { location, status = 302 } = o.to(req.url!, self)
    res.writeHead(status, { location, 'content-type': 'text/html', 'content-length': 28 }).end('<a href="elsewhere">moved</a>'.slice(0, 28))
  }
  const server: Server = o.tls ? createHttpsServer(o.tls, handle) : createHttpServer(handle)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  self = `${o.tls ? 'https' : 'http'}://127.0.0.1:${port}`
  return {
    url: self,
    requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
