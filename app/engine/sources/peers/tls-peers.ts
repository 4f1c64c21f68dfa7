// Peer sessions over TLS 1.3 for releases whose swarm is admission-controlled (scopes private
// and lan). Every connection, dialled or accepted, on the port webtorrent announces:
//   1. TLS 1.3; the dialer sends the swarm's infohash as the server name (SNI);
//   2. the dialer sends its pass and its proof (a signature over the session's exporter);
//      the listener checks both against the release's admission key and the revocation list;
//   3. only then does the listener answer with its own pass and proof, which the dialer checks;
//   4. the BitTorrent wire starts inside the session (webtorrent, no MSE).
// A refused dialer gets the TLS handshake and a close: no pass, no BitTorrent handshake, no
// bitfield, and the same answer whether or not this host holds the swarm.
import type { KeyObject } from 'node:crypto'
import type { OnReadOpts, Socket } from 'node:net'
import { TLSSocket, connect as tlsConnect, createSecureContext, type ConnectionOptions, type SecureContext } from 'node:tls'
import type { Torrent } from 'webtorrent'
import type WebTorrent from 'webtorrent'
import { admitPeer, passStillValid, proveHolder, type PeerPass, type RefusalReason } from '../../../release/admission.ts'
import type { PassHolder } from './pass-holder.ts'
import type { SwarmAdmission } from './swarm-admission.ts'
import type { Refusals } from './refusals.ts'
import { makeSessionCertificate } from './session-certificate.ts'
import { addConnectedPeer, interceptDials, readsIntoOneBuffer, takeIncoming } from './webtorrent-adapter.ts'


export interface TlsPeering {
  refusals(): Refusals
  /** Addresses being dialled or in their admission exchange: peers about to be known. */
  pending(): number
  stop(): void
}

export interface TlsPeeringOptions {
  readonly swarm: string
  readonly authority: KeyObject
  readonly holder: PassHolder
  /** Most sessions at once, both directions (the wire guard enforces it again per wire). */
  readonly maxPeers: number
  /** Addresses this client listens on, to not dial itself. */
  readonly ownAddresses: readonly string[]
  readonly now: () => number
}

const MAGIC = Buffer.from('SHOAL-ADMIT1')
const MAX_FRAME = 16 * 1024
const EXCHANGE_TIMEOUT_MS = 10_000
const CONNECT_TIMEOUT_MS = 5_000
const EXPORTER_LABEL = 'EXPORTER-shoal-admission-v1'
/** Waits before dialling an address again after a failed or dropped session, as webtorrent's TCP dialler. */
const REDIAL_MS = [1_000, 5_000, 15_000]

export interface AdmissionFrame {
  readonly pass?: string
  readonly proof?: string
}

/** The admission frame a peer sends first inside TLS (exported for test peers). */
export function encodeFrame(f: AdmissionFrame): Buffer {
  const body = Buffer.from(JSON.stringify(f))
  const len = Buffer.alloc(2)
  len.writeUInt16BE(body.length)
  return Buffer.concat([MAGIC, len, body])
}

/**
 * Reads one admission frame; bytes after it (the peer's BitTorrent handshake) are put back for
 * the wire. Undefined when the first bytes are not a frame (a plain BitTorrent or MSE client),
 * or nothing arrives in time.
 */
export function readFrame(socket: TLSSocket): Promise<AdmissionFrame | undefined> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0)
    const done = (frame: AdmissionFrame | undefined, rest?: Buffer) => {
      clearTimeout(timer)
      socket.removeListener('data', onData)
      socket.removeListener('close', onClose)
      socket.pause()
      if (rest && rest.length > 0) socket.unshift(rest)
      resolve(frame)
    }
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      const head = Math.min(buf.length, MAGIC.length)
      if (!buf.subarray(0, head).equals(MAGIC.subarray(0, head))) return done(undefined)
      if (buf.length < MAGIC.length + 2) return
      const len = buf.readUInt16BE(MAGIC.length)
      if (len > MAX_FRAME) return done(undefined)
      const end = MAGIC.length + 2 + len
      if (buf.length < end) return
      try {
        const json = JSON.parse(buf.subarray(MAGIC.length + 2, end).toString('utf8')) as unknown
        const f = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {}
        done({ ...(typeof f['pass'] === 'string' ? { pass: f['pass'] } : {}), ...(typeof f['proof'] === 'string' ? { proof: f['proof'] } : {}) }, buf.subarray(end))
      } catch {
        done({})
      }
    }
    const onClose = () => done(undefined)
    const timer = setTimeout(() => done(undefined), EXCHANGE_TIMEOUT_MS)
    socket.on('data', onData)
    socket.once('close', onClose)
  })
}

/** What both ends of a session sign to prove their pass is theirs; the swarm as context, so a proof for one swarm's session proves nothing in another's. */
export function sessionKeyingMaterial(socket: TLSSocket, swarm: string): Buffer {
  return socket.exportKeyingMaterial(32, EXPORTER_LABEL, Buffer.from(swarm))
}

/**
 * AES-128-GCM first: with AES-NI it costs less CPU per byte than Node's default AES-256-GCM, and
 * its 128-bit key is what TLS 1.3 mandates everywhere. The others stay for peers that lack it.
 */
const PEER_CIPHERS = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256'

export function startTlsPeering(client: WebTorrent, torrent: Torrent, o: TlsPeeringOptions): TlsPeering {
  const refusals: Refusals = {}
  const refuse = (reason: RefusalReason | 'refused-by-peer') => (refusals[reason] = (refusals[reason] ?? 0) + 1)
  const cert = makeSessionCertificate(new Date(o.now()))
  const context: SecureContext = createSecureContext({ cert: cert.certPem, key: cert.keyPem, minVersion: 'TLSv1.3', ciphers: PEER_CIPHERS })
  /** Admitted sessions and the pass each peer showed, to drop them when it lapses or is revoked. */
  const admitted = new Map<TLSSocket, PeerPass>()
  const dials = new Map<string, { attempt: number; timer?: NodeJS.Timeout; socket?: TLSSocket }>()
  let handshaking = 0
  let stopped = false
  let ids = 0

  const exported = (socket: TLSSocket) => sessionKeyingMaterial(socket, o.swarm)
  const ours = (role: 'dialer' | 'listener', socket: TLSSocket): Buffer => encodeFrame({ pass: o.holder.pass(), proof: proveHolder(o.holder.key, role, exported(socket)) })
  const check = (frame: AdmissionFrame | undefined, role: 'dialer' | 'listener', socket: TLSSocket) =>
    admitPeer(frame?.pass, frame?.proof, { swarm: o.swarm, authority: o.authority, revoked: o.holder.revoked(), role, keyingMaterial: exported(socket), nowMs: Date.now() })
  const join = (socket: TLSSocket, pass: PeerPass): boolean => {
    if (stopped || torrent.destroyed) return false
    admitted.set(socket, pass)
    socket.once('close', () => admitted.delete(socket))
    socket.resume()
    return addConnectedPeer(torrent, socket, `tls-${++ids}`)
  }
  const full = () => admitted.size + handshaking >= o.maxPeers

  const accept = (raw: Socket) => {
    if (stopped || full()) return raw.destroy()
    handshaking++
    const socket = new TLSSocket(raw, { isServer: true, secureContext: context, requestCert: false })
    let settled = false
    const settle = () => {
      if (!settled) handshaking--
      settled = true
    }
    socket.on('error', () => socket.destroy())
    socket.once('close', settle)
    const timer = setTimeout(() => socket.destroy(), EXCHANGE_TIMEOUT_MS)
    socket.once('secure', () => {
      void readFrame(socket).then((frame) => {
        clearTimeout(timer)
        settle()
        if (socket.destroyed) return
        // One answer for every refusal, a swarm we do not hold included: the connection closes.
        const servername = (socket as TLSSocket & { servername?: string | false }).servername
        const verdict = servername === o.swarm ? check(frame, 'dialer', socket) : ({ ok: false, reason: 'unknown-swarm' } as const)
        if (!verdict.ok) {
          refuse(verdict.reason)
          return socket.destroy()
        }
        socket.write(ours('listener', socket))
        if (!join(socket, verdict.pass)) socket.destroy()
      })
    })
  }

  const redial = (address: string) => {
    const d = dials.get(address)
    if (!d || stopped) return
    const wait = REDIAL_MS[d.attempt]
    if (wait === undefined) return void dials.delete(address)
    d.attempt++
    d.timer = setTimeout(() => dial(address), wait)
    d.timer.unref()
  }
  const dial = (address: string) => {
    const d = dials.get(address) ?? { attempt: 0 }
    dials.set(address, d)
    if (stopped || d.socket || full()) return
    const { host, port } = splitAddress(address)
    if (port === 0 || (o.ownAddresses.includes(host) && port === client.address()?.port)) return void dials.delete(address)
    handshaking++
    let settled = false
    const settle = () => {
      if (!settled) handshaking--
      settled = true
    }
    const options: ConnectionOptions & { onread: OnReadOpts } = { host, port, servername: o.swarm, rejectUnauthorized: false, minVersion: 'TLSv1.3', ciphers: PEER_CIPHERS, onread: oneBufferReads(() => socket) }
    const socket = tlsConnect(options)
    readsIntoOneBuffer(socket)
    d.socket = socket
    const timer = setTimeout(() => socket.destroy(), CONNECT_TIMEOUT_MS + EXCHANGE_TIMEOUT_MS)
    socket.on('error', () => socket.destroy())
    socket.once('close', () => {
      clearTimeout(timer)
      settle()
      d.socket = undefined
      redial(address)
    })
    socket.once('secureConnect', () => {
      socket.write(ours('dialer', socket))
      void readFrame(socket).then((frame) => {
        clearTimeout(timer)
        settle()
        if (socket.destroyed) return
        if (!frame) {
          refuse('refused-by-peer')
          // Refused: not dialled again until a tracker or LAN discovery names it anew.
          dials.delete(address)
          return socket.destroy()
        }
        const verdict = check(frame, 'listener', socket)
        if (!verdict.ok) {
          refuse(verdict.reason)
          dials.delete(address)
          return socket.destroy()
        }
        d.attempt = 0
        if (!join(socket, verdict.pass)) socket.destroy()
      })
    })
  }

  takeIncoming(client, accept)
  interceptDials(torrent, (address) => {
    const d = dials.get(address)
    if (d?.timer) clearTimeout(d.timer)
    if (d) d.attempt = 0
    dial(address)
  })
  // A pass that expires or is revoked during the session ends that session.
  const enforce = () => {
    for (const [socket, pass] of admitted) if (!passStillValid(pass, o.holder.revoked(), Date.now())) socket.destroy()
  }
  o.holder.onRevocations(enforce)
  const expiryTimer = setInterval(enforce, 60_000)
  expiryTimer.unref()

  return {
    refusals: () => ({ ...refusals }),
    pending: () => handshaking,
    stop: () => {
      stopped = true
      clearInterval(expiryTimer)
      for (const d of dials.values()) {
        clearTimeout(d.timer)
        d.socket?.destroy()
      }
      dials.clear()
    },
  }
}

/** A TLS record holds at most this much: Node hands over a session's bytes a record at a time. */
const TLS_RECORD = 16 * 1024

/**
 * Reads of a dialled session go into one buffer (net's `onread`; Node offers it to the dialling
 * side only). By default Node allocates a buffer for every TLS record read and passes it through
 * the socket's stream: for a 1 GiB download, 65k buffers that the collector frees. A read is
 * handed to the socket's 'data' listeners as a view of that buffer when they take bytes now
 * (flowing, nothing queued), and is otherwise queued as a copy, in order, as the stream would
 * (Node goes on reading the records it has decrypted after a pause). Listeners must copy what
 * they keep (the peer wire, gated-pump and readFrame do).
 */
function oneBufferReads(socket: () => TLSSocket): OnReadOpts {
  const buffer = Buffer.allocUnsafeSlow(TLS_RECORD)
  return {
    buffer,
    callback: (n: number) => {
      const s = socket()
      if (s.readableFlowing && s.readableLength === 0) s.emit('data', buffer.subarray(0, n))
      else s.push(Buffer.from(buffer.subarray(0, n)))
      return true
    },
  }
}

function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':')
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1')
  return { host, port: Number(address.slice(i + 1)) || 0 }
}

/** Puts the client's listener and dials for `torrent` behind TLS and admission. Call right after `client.add`. */
export function secureSwarm(client: WebTorrent, torrent: Torrent, a: SwarmAdmission, maxPeers: number, ownAddresses: readonly string[]): TlsPeering {
  return startTlsPeering(client, torrent, { swarm: a.swarm, authority: a.authority, holder: a.holder, maxPeers, ownAddresses, now: () => Date.now() })
}
