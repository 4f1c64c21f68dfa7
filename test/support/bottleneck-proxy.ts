import { connect, createServer, type Server, type Socket } from 'node:net'

export interface Bottleneck {
  /** One proxy URL per flow; all of them share the one downlink queue. */
  readonly urls: readonly string[]
  /** Bytes delivered to clients of flow `i` so far. */
  delivered(flow: number): number
  /** Current queueing delay of the downlink in ms. */
  queueMs(): number
  stop(): Promise<void>
}

interface Queued {
  readonly to: Socket
  data: Buffer
}

/**
 * A downlink of `rate` bytes per second in front of `upstreamPort`, shared by every flow,
 * with one FIFO queue of at most `queueBytes`: a home connection with a bloated buffer.
 * When the queue is full every upstream is paused, so a greedy download keeps it full and
 * everyone's packets wait behind it; that wait is what a delay-based controller sees.
 */
export async function startBottleneck(upstreamPort: number, flows: number, rate: number, queueBytes: number): Promise<Bottleneck> {
  const queue: Queued[] = []
  let queued = 0
  const delivered = new Array<number>(flows).fill(0)
  const upstreams = new Set<Socket>()
  const sockets = new Set<Socket>()
  const flowOf = new Map<Socket, number>()
  let paused = false
  const servers: Server[] = []
  const setPaused = (p: boolean) => {
    if (p === paused) return
    paused = p
    for (const u of upstreams) if (p) u.pause()
    else u.resume()
  }
  let last = performance.now()
  const drain = setInterval(() => {
    const now = performance.now()
    let budget = (rate * (now - last)) / 1000
    last = now
    while (budget > 0 && queue.length > 0) {
      const head = queue[0]!
      const n = Math.min(head.data.length, Math.floor(budget))
      if (n <= 0) break
      if (!head.to.destroyed) head.to.write(head.data.subarray(0, n))
      delivered[flowOf.get(head.to)!]! += n
      budget -= n
      queued -= n
      if (n === head.data.length) queue.shift()
      else head.data = head.data.subarray(n)
    }
    if (queue.length === 0) last = now
    setPaused(queued >= queueBytes)
  }, 2)
  for (let flow = 0; flow < flows; flow++) {
    const server = createServer((client) => {
      const upstream = connect(upstreamPort, '127.0.0.1')
      flowOf.set(client, flow)
      upstreams.add(upstream)
      sockets.add(client).add(upstream)
      if (paused) upstream.pause()
      client.on('data', (d: Buffer) => upstream.write(d))
      upstream.on('data', (d: Buffer) => {
        queue.push({ to: client, data: d })
        queued += d.length
        if (queued >= queueBytes) setPaused(true)
      })
      const close = () => {
        client.destroy()
        upstream.destroy()
        upstreams.delete(upstream)
        sockets.delete(client)
        sockets.delete(upstream)
        for (let i = queue.length - 1; i >= 0; i--) {
          if (queue[i]!.to === client) {
            queued -= queue[i]!.data.length
            queue.splice(i, 1)
          }
        }
      }
      for (const s of [client, upstream]) {
        s.on('close', close)
        s.on('error', close)
      }
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    servers.push(server)
  }
  return {
    urls: servers.map((s) => `http://127.0.0.1:${(s.address() as { port: number }).port}`),
    delivered: (flow) => delivered[flow]!,
    queueMs: () => (1000 * queued) / rate,
    stop: async () => {
      clearInterval(drain)
      for (const s of sockets) s.destroy()
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
    },
  }
}
