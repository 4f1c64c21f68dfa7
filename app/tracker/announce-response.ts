// Pure: the bencoded bodies a tracker answers with (BEP 3, compact peers as in BEP 23 and 7).
import { isIP } from 'node:net'
import bencode from 'bencode'
import type { SwarmPeer } from './matching.ts'

export interface AnnounceAnswer {
  readonly intervalSeconds: number
  readonly complete: number
  readonly incomplete: number
  readonly peers: readonly SwarmPeer[]
  readonly compact: boolean
}

function packV4(ip: string, port: number, out: Buffer, at: number): void {
  const parts = ip.split('.')
  for (let i = 0; i < 4; i++) out[at + i] = Number(parts[i])
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
  const body: Record<string, unknown> = { complete: a.complete, incomplete: a.incomplete, interval: a.intervalSeconds, 'min interval': Math.min(60, a.intervalSeconds) }
  if (a.compact) {
    const v4 = a.peers.filter((p) => isIP(p.ip) === 4)
    const v6 = a.peers.filter((p) => isIP(p.ip) === 6)
    const peers = Buffer.alloc(v4.length * 6)
    v4.forEach((p, i) => packV4(p.ip, p.port, peers, i * 6))
    body['peers'] = peers
    if (v6.length > 0) body['peers6'] = Buffer.concat(v6.flatMap((p) => [v6Bytes(p.ip), Buffer.from([p.port >> 8, p.port & 0xff])]))
  } else {
    body['peers'] = a.peers.map((p) => ({ 'peer id': Buffer.from(p.peerId, 'hex'), ip: p.ip, port: p.port }))
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
