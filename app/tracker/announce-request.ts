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

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const l = c | 0x20
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1
}

/** Room for one id: values longer than 20 bytes are refused anyway. */
const idBytes = Buffer.alloc(64)

/**
 * Percent-decodes `query[from, to)` into hex, as parseQuery would decode it, through one
 * reused buffer: the hot path reads `info_hash` and `peer_id` without a Buffer per value, and
 * gets flat strings (cheap to hash and compare) rather than a concatenation per byte.
 */
function hexOf(query: string, from: number, to: number): string {
  let n = 0
  for (let i = from; i < to; i++) {
    // Too long for an id: an empty string, which the caller refuses.
    if (n === idBytes.length) return ''
    const c = query.charCodeAt(i)
    if (c === 0x25 && i + 2 < to) {
      const hi = hexDigit(query.charCodeAt(i + 1))
      const lo = hexDigit(query.charCodeAt(i + 2))
      if (hi >= 0 && lo >= 0) {
        idBytes[n++] = hi * 16 + lo
        i += 2
        continue
      }
    }
    idBytes[n++] = c === 0x2b ? 0x20 : c & 0xff
  }
  return idBytes.toString('hex', 0, n)
}

/** `query[from, to)` decoded as parseQuery would, then read as latin1 (or UTF-8). */
function textOf(query: string, from: number, to: number, encoding: 'latin1' | 'utf8' = 'latin1'): string {
  const raw = query.slice(from, to)
  return raw.includes('%') || raw.includes('+') || encoding === 'utf8' ? percentDecode(raw).toString(encoding) : raw
}

const DIGITS = /^\d{1,15}$/
const count = (v: string | undefined) => (v !== undefined && DIGITS.test(v) ? Number(v) : undefined)

/** The values parseAnnounce reads, raw (first occurrence wins, as in parseQuery). */
interface AnnounceFields {
  info_hash?: string
  peer_id?: string
  port?: string
  left?: string
  event?: string
  site?: string
  reach?: string
  spare?: string
  up?: string
  numwant?: string
  compact?: string
  token?: string
}
type FieldName = keyof AnnounceFields
const FIELDS = new Set<string>(['info_hash', 'peer_id', 'port', 'left', 'event', 'site', 'reach', 'spare', 'up', 'numwant', 'compact', 'token'])

function announceFields(query: string): AnnounceFields {
  const f: AnnounceFields = {}
  for (let start = 0; start < query.length; ) {
    let end = query.indexOf('&', start)
    if (end < 0) end = query.length
    let eq = query.indexOf('=', start)
    if (eq < 0 || eq > end) eq = end
    const key = query.slice(start, eq)
    if (FIELDS.has(key) && f[key as FieldName] === undefined) {
      const from = Math.min(eq + 1, end)
      f[key as FieldName] = key === 'info_hash' || key === 'peer_id' ? hexOf(query, from, end) : textOf(query, from, end, key === 'token' ? 'utf8' : 'latin1')
    }
    start = end + 1
  }
  return f
}

/** The address peers should dial: the socket's, with IPv4-mapped IPv6 unwrapped. */
export function peerAddress(remote: string): string {
  return remote.startsWith('::ffff:') && isIP(remote.slice(7)) === 4 ? remote.slice(7) : remote
}

const EVENTS = new Set(['', 'started', 'stopped', 'completed', 'update', 'paused'])

export function parseAnnounce(query: string, remoteAddress: string): ParsedAnnounce {
  const q = announceFields(query)
  const infoHash = q.info_hash
  if (infoHash?.length !== 40) return { ok: false, reason: 'invalid info_hash (20 bytes expected)' }
  const peerId = q.peer_id
  if (peerId?.length !== 40) return { ok: false, reason: 'invalid peer_id (20 bytes expected)' }
  const port = count(q.port)
  if (port === undefined || port < 1 || port > 65535) return { ok: false, reason: 'invalid port' }
  const ip = peerAddress(remoteAddress)
  if (isIP(ip) === 0) return { ok: false, reason: 'no peer address' }
  const event = q.event ?? ''
  if (!EVENTS.has(event)) return { ok: false, reason: `unknown event "${event}"` }
  const site = q.site
  // Site ids become metric labels and Redis bytes: short, and a safe alphabet.
  if (site !== undefined && !SITE_ID.test(site)) return { ok: false, reason: 'invalid site (1-64 of A-Z a-z 0-9 . _ : / -)' }
  const reach = q.reach
  // A peer that gives its capacity but not its spare upload is weighted by its capacity.
  const spare = count(q.spare) ?? count(q.up)
  const peer: SwarmPeer = {
    peerId,
    ip,
    port,
    seeder: count(q.left) === 0,
    reachable: reach === '1' ? true : reach === '0' ? false : undefined,
    spare,
    site,
  }
  return {
    ok: true,
    request: {
      infoHash,
      peer,
      event: event === 'started' || event === 'stopped' || event === 'completed' ? event : 'update',
      numwant: Math.min(count(q.numwant) ?? DEFAULT_NUMWANT, MAX_NUMWANT),
      compact: q.compact !== '0',
      token: q.token,
    },
  }
}
