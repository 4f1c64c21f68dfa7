// What this client tells trackers, pure: its peer id, the parameters Shoal adds to every
// announce, the announce URL itself, and the tracker's answer decoded. webtorrent announces once
// a swarm runs; before that, the scout (peer-scout.ts) does, with the same id and parameters.
import { randomBytes } from 'node:crypto'
import bencode from 'bencode'
import type { SwarmClientOptions } from './swarm-client.ts'

/** Azureus-style client prefix of Shoal's peer ids ("SL", version 0.1.0.0): other clients see who we are. */
const PEER_ID_PREFIX = '-SL0100-'
export const PEER_ID_PREFIX_HEX = Buffer.from(PEER_ID_PREFIX).toString('hex')

/** A fresh peer id for one swarm, hex. */
export function newPeerId(): string {
  return PEER_ID_PREFIX_HEX + randomBytes(12).toString('hex')
}

/**
 * The release's announce URLs as this client uses them: each http(s) tracker's URL carries the
 * tracker token. In the URL, not with the other parameters, because webtorrent asks for those
 * only while its torrent lives, and its `stopped` announce comes after: without the token,
 * Shoal's tracker refused it and kept the peer listed until it timed out.
 */
export function tokenedTrackers(trackers: readonly string[], token: string | undefined): string[] {
  if (!token) return [...trackers]
  const param = `token=${encodeURIComponent(token)}`
  return trackers.map((t) => (t.startsWith('http:') || t.startsWith('https:') ? `${t}${t.includes('?') ? '&' : '?'}${param}` : t))
}

/**
 * What every announce carries besides BitTorrent's own fields and the token: the capabilities
 * Shoal's tracker matches on (stock trackers ignore them). Spare upload is told only under a
 * cap: without one it is unknown, and 0 would mean "at my cap, skip me". Reachability is told
 * only once proven (`reach=1`): a client that has not been dialled yet may still be reachable,
 * so it says nothing rather than `reach=0`.
 */
export function announceParams(o: Pick<SwarmClientOptions, 'limitUp' | 'site'>, uploadSpeed: number, reachable = false): Record<string, string | number> {
  const params: Record<string, string | number> = {}
  if (o.site !== undefined) params['site'] = o.site
  if (o.limitUp > 0) {
    params['up'] = o.limitUp
    params['spare'] = Math.max(0, Math.round(o.limitUp - uploadSpeed))
  }
  if (reachable) params['reach'] = 1
  return params
}

const isLoopback = (ip: string) => ip.startsWith('127.') || ip.startsWith('::ffff:127.') || ip === '::1'

/**
 * Whether an incoming peer connection from `remote` shows that peers can dial us. A dial over
 * loopback comes from this machine and says nothing of other hosts, unless the listener is on
 * loopback itself, where this machine is all there is.
 */
export function provesReach(listenHost: string | undefined, remote: string | undefined): boolean {
  if (remote === undefined) return false
  return !isLoopback(remote) || (listenHost !== undefined && isLoopback(listenHost))
}

/** BitTorrent's announce fields besides Shoal's own (announceParams). */
export interface AnnounceFields {
  /** 20 bytes each, hex. */
  readonly infoHash: string
  readonly peerId: string
  readonly port: number
  readonly left: number
  readonly event?: 'started' | 'stopped' | undefined
}

/** Every byte percent-encoded, as trackers read a binary field. */
const percentBytes = (hex: string) => hex.replace(/../g, '%$&')

/** The GET URL of one announce to tracker `base`. */
export function announceUrl(base: string, f: AnnounceFields, params: Record<string, string | number>): string {
  const fields = [`info_hash=${percentBytes(f.infoHash)}`, `peer_id=${percentBytes(f.peerId)}`, `port=${f.port}`, 'uploaded=0', 'downloaded=0', `left=${f.left}`, 'compact=1', 'numwant=50']
  if (f.event) fields.push(`event=${f.event}`)
  for (const [k, v] of Object.entries(params)) fields.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
  return `${base}${base.includes('?') ? '&' : '?'}${fields.join('&')}`
}

export type TrackerAnswer =
  | {
      readonly interval: number
      readonly peers: readonly string[]
      /** Peers still downloading, when the tracker says (BEP 3's `incomplete`). */
      readonly incomplete?: number
    }
  | { readonly failure: string }

const text = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString() : typeof v === 'string' ? v : undefined)

/** Peers of a compact string: `size` bytes each, the port in the last two. */
function compactPeers(bytes: Uint8Array, size: 6 | 18): string[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  const out: string[] = []
  for (let at = 0; at + size <= b.length; at += size) {
    const port = b.readUInt16BE(at + size - 2)
    if (size === 6) out.push(`${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}:${port}`)
    else out.push(`[${Array.from({ length: 8 }, (_, i) => b.readUInt16BE(at + i * 2).toString(16)).join(':')}]:${port}`)
  }
  return out
}

/** A tracker's bencoded answer: its interval, peers ("ip:port", "[ip6]:port") and count of leechers, or its failure reason. */
export function decodeTrackerAnswer(body: Uint8Array): TrackerAnswer {
  let d: unknown
  try {
    d = bencode.decode(body)
  } catch {
    return { failure: 'the tracker answered with something other than bencode' }
  }
  if (typeof d !== 'object' || d === null || d instanceof Uint8Array || Array.isArray(d)) return { failure: 'the tracker answered with something other than a dictionary' }
  const a = d as Record<string, unknown>
  const failure = text(a['failure reason'])
  if (failure !== undefined) return { failure }
  const peers: string[] = []
  const listed = a['peers']
  if (listed instanceof Uint8Array) peers.push(...compactPeers(listed, 6))
  else if (Array.isArray(listed)) {
    for (const p of listed as Record<string, unknown>[]) {
      const ip = text(p['ip'])
      const port = p['port']
      if (ip !== undefined && typeof port === 'number') peers.push(ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`)
    }
  }
  if (a['peers6'] instanceof Uint8Array) peers.push(...compactPeers(a['peers6'], 18))
  const interval = typeof a['interval'] === 'number' && a['interval'] > 0 ? a['interval'] : 1800
  const incomplete = a['incomplete']
  return typeof incomplete === 'number' && incomplete >= 0 ? { interval, peers, incomplete } : { interval, peers }
}
