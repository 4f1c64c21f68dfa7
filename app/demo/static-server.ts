import { createServer, type Server } from 'node:http'
import send from 'send'

export interface StaticServer {
  readonly url: string
  close(): Promise<void>
}

/** A static file server with byte ranges and ETags on 127.0.0.1, standing in for a CDN in the demo. */
export async function startStaticServer(root: string): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    send(req, new URL(req.url ?? '/', 'http://localhost').pathname, { root, dotfiles: 'deny', etag: true, lastModified: false })
      .on('error', (err: { status?: number }) => res.writeHead(err.status ?? 500).end())
      .pipe(res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
