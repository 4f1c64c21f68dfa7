// Pure: an HTTP announce's query string, as BitTorrent clients send it, into a request the
// tracker can act on, or the failure reason to send back. `info_hash` and `peer_id` are raw
// bytes percent-encoded one by one, so the query is split by hand: URLSearchParams would read
// them as UTF-8 and mangle them.
import { isIP } from 'node:net'
import { SITE_ID } from '../../shared/api-contract.ts'
import type { SwarmPeer } from './matching.ts'

export type AnnounceEvent = 'started' | 'stopped' | 'completed' | 'update'

export interface AnnounceRequest {
  /** 40 hex digits. */
  readonly infoHash: string
  readonly peer: SwarmPeer
  readonly event: AnnounceEvent
  readonly numwant: number
  readonly compact: boolean
  readonly token: string | undefined
}

export type ParsedAnnounce = { readonly ok: true; readonly request: AnnounceRequest } | { readonly ok: false; readonly reason: string }

export const DEFAULT_NUMWANT = 50
export const MAX_NUMWANT = 200

/** Every value of the query, percent-decoded into bytes (`+` is a space, as in forms). */
export function parseQuery(query: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  for (const part of query.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const key = eq < 0 ? part : part.slice(0, eq)
    if (!out.has(key)) out.set(key, percentDecode(eq < 0 ? '' : part.slice(eq + 1)))
  }
  return out
}

function percentDecode(s: string): Buffer {
  if (!s.includes('%') && !s.includes('+')) return Buffer.from(s, 'latin1')
  const bytes: number[] = []
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16))
      i += 2
    } else bytes.push(c === 0x2b ? 0x20 : c & 0xff)
  }
  return Buffer.from(bytes)
}

const text = (b: Buffer | undefined) => b?.toString('latin1')

function count(q: Map<string, Buffer>, key: string): number | undefined {
  const v = text(q.get(key))
  return v !== undefined && /^\d{1,15}$/.test(v) ? Number(v) : undefined
}

/** The address peers should dial: the socket's, with IPv4-mapped IPv6 unwrapped. */
export function peerAddress(remote: string): string {
  return remote.startsWith('::ffff:') && isIP(remote.slice(7)) === 4 ? remote.slice(7) : remote
}

export function parseAnnounce(query: string, remoteAddress: string): ParsedAnnounce {
  const q = parseQuery(query)
  const infoHash = q.get('info_hash')
  if (infoHash?.length !== 20) return { ok: false, reason: 'invalid info_hash (20 bytes expected)' }
  const peerId = q.get('peer_id')
  if (peerId?.length !== 20) return { ok: false, reason: 'invalid peer_id (20 bytes expected)' }
  const port = count(q, 'port')
  if (port === undefined || port < 1 || port > 65535) return { ok: false, reason: 'invalid port' }
  const ip = peerAddress(remoteAddress)
  if (isIP(ip) === 0) return { ok: false, reason: 'no peer address' }
  const event = text(q.get('event')) ?? ''
  if (!['', 'started', 'stopped', 'completed', 'update', 'paused'].includes(event)) return { ok: false, reason: `unknown event "${event}"` }
  const site = text(q.get('site'))
  // Site ids become metric labels and Redis bytes: short, and a safe alphabet.
  if (site !== undefined && !SITE_ID.test(site)) return { ok: false, reason: 'invalid site (1-64 of A-Z a-z 0-9 . _ : / -)' }
  const reach = text(q.get('reach'))
  // A peer that gives its capacity but not its spare upload is weighted by its capacity.
  const spare = count(q, 'spare') ?? count(q, 'up')
  const peer: SwarmPeer = {
    peerId: peerId.toString('hex'),
    ip,
    port,
    seeder: count(q, 'left') === 0,
    reachable: reach === '1' ? true : reach === '0' ? false : undefined,
    spare,
    site,
  }
  return {
    ok: true,
    request: {
      infoHash: infoHash.toString('hex'),
      peer,
      event: event === 'started' || event === 'stopped' || event === 'completed' ? event : 'update',
      numwant: Math.min(count(q, 'numwant') ?? DEFAULT_NUMWANT, MAX_NUMWANT),
      compact: text(q.get('compact')) !== '0',
      token: q.get('token')?.toString('utf8'),
    },
  }
}
