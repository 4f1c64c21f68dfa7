import { createServer, connect, type Socket } from 'node:net'

export interface CountingProxy {
  readonly url: string
  /** Bytes passed from the upstream server to clients so far. */
  received(): number
  stop(): Promise<void>
}

/**
 * A TCP proxy on 127.0.0.1 in front of `upstreamPort` that counts the bytes it hands to
 * clients, honouring backpressure: what it counts is what the client actually read.
 */
export async function startCountingProxy(upstreamPort: number): Promise<CountingProxy> {
  let received = 0
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1')
    sockets.add(client).add(upstream)
    client.on('data', (d: Buffer) => upstream.write(d))
    upstream.on('data', (d: Buffer) => {
      received += d.length
      if (!client.write(d)) {
        upstream.pause()
        client.once('drain', () => upstream.resume())
      }
    })
    const close = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    for (const s of [client, upstream]) {
      s.on('close', close)
      s.on('error', close)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    received: () => received,
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
