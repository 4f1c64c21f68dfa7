// The tracker bench's load generator, as its own process so it does not share an event loop
// with what it measures: `peers` distinct peers across `swarms` swarms announce over HTTP,
// `rounds` times each (the first with event=started), from `connections` keep-alive
// connections at once. Peer i always uses connection i mod C, bound to its own 127.x address,
// and its own port there: trackers that key peers by address and port (opentracker) see
// distinct peers too. Prints one JSON line. Bounded by count and by `deadlineMs`.
import { connect, type Socket } from 'node:net'

export interface LoadPlan {
  /** Announce URLs; connection s goes to targets[s mod targets.length]. */
  readonly targets: readonly string[]
  readonly peers: number
  readonly swarms: number
  /** `started` for a first announce, '' for a regular one. */
  readonly event: string
  readonly connections: number
  /** The round stops here at the latest. */
  readonly deadlineMs: number
  /** Extra query, e.g. "&token=…". */
  readonly extra: string
  /** One connection per announce when false: opentracker closes after every answer. */
  readonly keepAlive: boolean
}

export interface RoundResult {
  readonly event: 'round'
  readonly announces: number
  readonly failures: number
  readonly seconds: number
  readonly perSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** The generator's own CPU time per announce (user + system), µs: its share of the cores. */
  readonly generatorCpuUs: number
}

const escape = (b: Buffer) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')

/** 20 bytes that depend only on `kind` and `n`, so every target sees the same hashes and ids. */
function id(kind: number, n: number): Buffer {
  const b = Buffer.alloc(20)
  b.write(kind === 0 ? '-SB0000-' : '-LG0000-')
  b.writeUInt32BE(n, 12)
  b.writeUInt32BE((n * 2654435761) >>> 0, 16)
  return b
}

/** The infohashes the plan uses, hex (opentracker's whitelist needs them). */
export const swarmHashes = (swarms: number) => Array.from({ length: swarms }, (_, s) => id(0, s).toString('hex'))

/**
 * One keep-alive HTTP/1.1 connection, written by hand: node:http's client costs more CPU per
 * request than the trackers it measures, and on 2 cores the generator would be the bottleneck.
 * Reconnects when the server closes. Resolves each request with whether it was a 200 without
 * a failure reason.
 */
class Connection {
  private socket: Socket | undefined
  private buffer: Buffer = Buffer.alloc(0)
  private waiting: ((ok: boolean) => void) | undefined
  private readonly target: URL
  private readonly localAddress: string
  private readonly keepAlive: boolean

  constructor(target: URL, localAddress: string, keepAlive: boolean) {
    this.target = target
    this.localAddress = localAddress
    this.keepAlive = keepAlive
  }

  get(path: string): Promise<boolean> {
    return new Promise((resolve) => {
      this.waiting = resolve
      const socket = this.socket ?? this.open()
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${this.target.host}\r\n${this.keepAlive ? '' : 'Connection: close\r\n'}\r\n`)
    })
  }

  close(): void {
    this.socket?.destroy()
  }

  private open(): Socket {
    const socket = connect({ host: this.target.hostname, port: Number(this.target.port), localAddress: this.localAddress })
    socket.setNoDelay(true)
    socket.on('data', (d: Buffer) => {
      this.buffer = this.buffer.length === 0 ? d : Buffer.concat([this.buffer, d])
      this.parse()
    })
    // Only the current socket's end fails the request in flight: a socket closed after its
    // answer (no keep-alive) has nothing in flight any more.
    const gone = () => {
      if (this.socket !== socket) return
      this.socket = undefined
      this.buffer = Buffer.alloc(0)
      this.finish(false)
    }
    socket.on('error', gone)
    socket.on('close', gone)
    this.socket = socket
    return socket
  }

  private parse(): void {
    const end = this.buffer.indexOf('\r\n\r\n')
    if (end < 0) return
    const head = this.buffer.subarray(0, end).toString('latin1')
    const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0)
    if (this.buffer.length < end + 4 + length) return
    const body = this.buffer.subarray(end + 4, end + 4 + length)
    this.buffer = this.buffer.subarray(end + 4 + length)
    if (!this.keepAlive || /connection: *close/i.test(head)) {
      this.socket?.destroy()
      this.socket = undefined
    }
    this.finish(head.startsWith('HTTP/1.1 200') && !body.includes('failure reason'))
  }

  private finish(ok: boolean): void {
    const w = this.waiting
    this.waiting = undefined
    w?.(ok)
  }
}

async function main(plan: LoadPlan): Promise<void> {
  const hashes = Array.from({ length: plan.swarms }, (_, s) => escape(id(0, s)))
  const slots = Array.from({ length: plan.connections }, (_, s) => {
    const target = new URL(plan.targets[s % plan.targets.length]!)
    return { target, connection: new Connection(target, `127.1.${s >> 8}.${(s & 255) + 1}`, plan.keepAlive), peers: [] as string[] }
  })
  for (let i = 0; i < plan.peers; i++) {
    const slot = slots[i % plan.connections]!
    const port = 1024 + Math.floor(i / plan.connections)
    // One peer in ten is a seeder, as in a swarm some hours after a release.
    const left = i % 10 === 0 ? 0 : 1 << 20
    slot.peers.push(`${slot.target.pathname}?info_hash=${hashes[i % plan.swarms]}&peer_id=${escape(id(1, i))}&port=${port}&uploaded=0&downloaded=0&left=${left}&compact=1&numwant=50${plan.extra}`)
  }
  const event = plan.event ? `&event=${plan.event}` : ''
  const latencies = new Float64Array(plan.peers)
  const cpuBefore = process.cpuUsage()
  let done = 0
  let failures = 0
  const started = performance.now()
  const deadline = started + plan.deadlineMs
  await Promise.all(
    slots.map(async (slot) => {
      for (const path of slot.peers) {
        if (performance.now() > deadline) return
        const t = performance.now()
        const ok = await slot.connection.get(path + event)
        latencies[done++] = performance.now() - t
        if (!ok) failures++
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const sorted = latencies.subarray(0, done).sort()
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
  const result: RoundResult = { event: 'round', announces: done, failures, seconds, perSecond: done / seconds, p50Ms: at(0.5), p99Ms: at(0.99), generatorCpuUs: (cpu.user + cpu.system) / Math.max(1, done) }
  console.log(JSON.stringify(result))
  for (const slot of slots) slot.connection.close()
}

if (import.meta.url === `file://${process.argv[1]}`) await main(JSON.parse(process.argv[2]!) as LoadPlan)
