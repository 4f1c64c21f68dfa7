// Pure: the bencoded bodies a tracker answers with (BEP 3, compact peers as in BEP 23 and 7).
import bencode from 'bencode'
import type { SwarmPeer } from './matching.ts'

export interface AnnounceAnswer {
  readonly intervalSeconds: number
  readonly complete: number
  readonly incomplete: number
  readonly peers: readonly SwarmPeer[]
  readonly compact: boolean
}

/** Writes an IPv4 address and port as 6 bytes; digits read by hand, as this runs for every peer of every answer. */
function packV4(ip: string, port: number, out: Buffer, at: number): void {
  let octet = 0
  let i = at
  for (let k = 0; k < ip.length; k++) {
    const c = ip.charCodeAt(k)
    if (c === 0x2e) {
      out[i++] = octet
      octet = 0
    } else octet = octet * 10 + c - 0x30
  }
  out[i] = octet
  out.writeUInt16BE(port, at + 4)
}

/** 16 bytes of an IPv6 address. */
export function v6Bytes(ip: string): Buffer {
  const [head, tail] = ip.split('::') as [string, string | undefined]
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const groups = [...left, ...new Array<string>(tail === undefined ? 0 : 8 - left.length - right.length).fill('0'), ...right]
  const out = Buffer.alloc(16)
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2))
  return out
}

export function encodeAnswer(a: AnnounceAnswer): Buffer {
  if (!a.compact) return encodeListed(a)
  // Bencoded by hand into one buffer, keys in bencode's sorted order: the hot path.
  let v6 = 0
  for (const p of a.peers) if (p.ip.includes(':')) v6++
  const v4 = a.peers.length - v6
  const head = `d8:completei${a.complete}e10:incompletei${a.incomplete}e8:intervali${a.intervalSeconds}e12:min intervali${Math.min(60, a.intervalSeconds)}e5:peers${v4 * 6}:`
  const six = v6 > 0 ? `6:peers6${v6 * 18}:` : ''
  const out = Buffer.allocUnsafe(head.length + v4 * 6 + six.length + v6 * 18 + 1)
  let at = out.write(head, 0, 'latin1')
  let at6 = at + v4 * 6 + out.write(six, at + v4 * 6, 'latin1')
  for (const p of a.peers) {
    if (p.ip.includes(':')) {
      at6 += v6Bytes(p.ip).copy(out, at6)
      at6 = out.writeUInt16BE(p.port, at6)
    } else {
      packV4(p.ip, p.port, out, at)
      at += 6
    }
  }
  out[out.length - 1] = 0x65 // e
  return out
}

function encodeListed(a: AnnounceAnswer): Buffer {
  const body = {
    complete: a.complete,
    incomplete: a.incomplete,
    interval: a.intervalSeconds,
    'min interval': Math.min(60, a.intervalSeconds),
    peers: a.peers.map((p) => ({ 'peer id': Buffer.from(p.peerId, 'hex'), ip: p.ip, port: p.port })),
  }
  return Buffer.from(bencode.encode(body))
}

export function encodeFailure(reason: string): Buffer {
  return Buffer.from(bencode.encode({ 'failure reason': reason }))
}

export interface ScrapeCounts {
  readonly infoHash: string
  readonly complete: number
  readonly incomplete: number
}

export function encodeScrape(swarms: readonly ScrapeCounts[]): Buffer {
  const files = new Map<Buffer, unknown>()
  for (const s of swarms) files.set(Buffer.from(s.infoHash, 'hex'), { complete: s.complete, incomplete: s.incomplete, downloaded: 0 })
  return Buffer.from(bencode.encode({ files }))
}
