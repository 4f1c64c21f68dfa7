// A bare HTTP announce, as a BitTorrent client sends it, from a chosen loopback address
// (127.0.0.0/8 stands in for many hosts), with the reply decoded.
import { randomBytes } from 'node:crypto'
import { get } from 'node:http'
import bencode from 'bencode'

/** Every byte percent-encoded, as clients send `info_hash` and `peer_id`. */
export const escapeBytes = (b: Buffer) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')

export function request(url: string, from = '127.0.0.1'): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { localAddress: from, agent: false }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (d: Buffer) => parts.push(d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }))
    }).on('error', reject)
  })
}

export interface AnnounceReply {
  'failure reason'?: Uint8Array
  interval?: number
  complete?: number
  incomplete?: number
  peers?: { ip: Uint8Array; port: number; 'peer id': Uint8Array }[]
}

/** Announces with `compact=0`, so the reply lists peer ids. `extra` overrides any field. */
export async function announce(announceUrl: string, infoHash: Buffer, from: string, extra: Record<string, string> = {}, peerId = randomBytes(20)): Promise<AnnounceReply> {
  const query = new URLSearchParams({ port: '6881', uploaded: '0', downloaded: '0', left: '0', compact: '0', event: 'started', ...extra }).toString()
  const url = `${announceUrl}?info_hash=${escapeBytes(infoHash)}&peer_id=${escapeBytes(peerId)}&${query}`
  return bencode.decode((await request(url, from)).body) as AnnounceReply
}

export const text = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString()
export const peerIps = (r: AnnounceReply) => (r.peers ?? []).map((p) => text(p.ip))
export const peerIds = (r: AnnounceReply) => (r.peers ?? []).map((p) => Buffer.from(p['peer id']).toString('hex'))
