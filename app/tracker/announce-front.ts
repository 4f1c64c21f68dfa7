// The announce hot path's HTTP/1.1, by hand. Under the bench load node:http took about half of
// the tracker's CPU per announce (README, Tracker figures): its parser, header objects and
// response machinery cost more than the announce itself. Every connection starts here: plain
// `GET /announce` requests are answered at once, one write per answer; the first request of any
// other kind (another path, a body, HTTP/1.0, an oversized head) hands the socket, with the
// bytes it has sent, to node:http, which serves it from then on.
import type { Server as HttpServer } from 'node:http'
import { createServer, type Server, type Socket } from 'node:net'

/** Answers an announce's query string from a peer at `remoteAddress` with the bencoded body (failures included). */
export type AnnounceHandler = (query: string, remoteAddress: string) => Promise<Buffer>

/** node:http's own limit on a request head. */
const MAX_HEAD_BYTES = 16 * 1024
const HEAD_END = Buffer.from('\r\n\r\n')

/** What the fast path needs of a request head, or undefined when node:http should take it. */
export interface SimpleAnnounce {
  readonly query: string
  /** The client asked to close after the answer. */
  readonly close: boolean
}

const REQUEST_LINE = /^GET \/announce(?:\?([^ ]*))? HTTP\/1\.1$/
const NEEDS_HTTP = /^(?:content-length|transfer-encoding|expect|upgrade):/im
const CLOSE = /^connection:[^\r]*\bclose\b/im

/** Pure: a request head (without its blank line) as a plain announce, or undefined. */
export function simpleAnnounce(head: string): SimpleAnnounce | undefined {
  const eol = head.indexOf('\r\n')
  const line = REQUEST_LINE.exec(eol < 0 ? head : head.slice(0, eol))
  if (!line) return undefined
  const headers = eol < 0 ? '' : head.slice(eol + 2)
  if (NEEDS_HTTP.test(headers)) return undefined
  return { query: line[1] ?? '', close: CLOSE.test(headers) }
}

function respond(socket: Socket, body: Buffer, close: boolean): void {
  const head = `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`
  // One buffer, so one write system call per answer.
  const out = Buffer.allocUnsafe(head.length + body.length)
  out.write(head, 0, 'latin1')
  body.copy(out, head.length)
  if (close) socket.end(out)
  else socket.write(out)
}

export interface AnnounceFront {
  readonly server: Server
  /** Ends every connection still on the fast path (node:http closes its own). */
  closeAll(): void
}

/** A TCP server that answers announces itself and hands every other request to `http`. */
export function announceFront(http: HttpServer, announce: AnnounceHandler, idleMs: number): AnnounceFront {
  const open = new Set<Socket>()
  const server = createServer((socket) => {
    open.add(socket)
    let pending: Buffer | undefined
    let busy = false
    const handOff = () => {
      open.delete(socket)
      socket.removeListener('data', onData)
      socket.setTimeout(0)
      if (pending) socket.unshift(pending)
      pending = undefined
      http.emit('connection', socket)
    }
    // One request at a time, so answers go out in the order asked (pipelining).
    const next = (): void => {
      while (pending && !busy && !socket.destroyed) {
        const end = pending.indexOf(HEAD_END)
        if (end < 0) return void (pending.length > MAX_HEAD_BYTES && handOff())
        const request = simpleAnnounce(pending.toString('latin1', 0, end))
        if (!request) return handOff()
        pending = end + 4 === pending.length ? undefined : pending.subarray(end + 4)
        busy = true
        announce(request.query, socket.remoteAddress ?? '').then(
          (body) => {
            busy = false
            if (socket.destroyed) return
            respond(socket, body, request.close)
            if (!request.close) next()
          },
          // The handler answers failures itself; should it throw, this connection ends, not the process.
          () => socket.destroy(),
        )
      }
    }
    const onData = (d: Buffer) => {
      pending = pending ? Buffer.concat([pending, d]) : d
      next()
    }
    socket.on('data', onData)
    socket.on('error', () => socket.destroy())
    socket.on('close', () => open.delete(socket))
    socket.setNoDelay(true)
    socket.setTimeout(idleMs, () => socket.destroy())
  })
  return {
    server,
    closeAll: () => {
      for (const s of open) s.destroy()
      open.clear()
    },
  }
}
