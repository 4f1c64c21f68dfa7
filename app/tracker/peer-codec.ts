// Pure: a peer as the few bytes Redis keeps per peer (issue 15 asks for at most 200 in all).
// Layout: flags (1), IPv4 (4) or IPv6 (16), port (2), spare upload in KiB/s (4, when given),
// then the site id (when the client set one). The peer id is the hash field; seeder or not is
// which hash holds it.
import { isIP } from 'node:net'
import { v6Bytes } from './announce-response.ts'
import type { SwarmPeer } from './matching.ts'

const V6 = 1
const REACH_KNOWN = 2
const REACHABLE = 4
const SPARE_KNOWN = 8

export function encodePeer(p: SwarmPeer): Buffer {
  const v6 = isIP(p.ip) === 6
  const site = p.site === undefined ? Buffer.alloc(0) : Buffer.from(p.site, 'latin1')
  const out = Buffer.alloc(1 + (v6 ? 16 : 4) + 2 + (p.spare === undefined ? 0 : 4) + site.length)
  out[0] = (v6 ? V6 : 0) | (p.reachable === undefined ? 0 : REACH_KNOWN) | (p.reachable ? REACHABLE : 0) | (p.spare === undefined ? 0 : SPARE_KNOWN)
  let at = 1
  if (v6) at += v6Bytes(p.ip).copy(out, at)
  else for (const part of p.ip.split('.')) out[at++] = Number(part)
  at = out.writeUInt16BE(p.port, at)
  // Round up, so a peer with a little spare upload is never mistaken for one at its cap.
  if (p.spare !== undefined) at = out.writeUInt32BE(Math.min(Math.ceil(p.spare / 1024), 0xffffffff), at)
  site.copy(out, at)
  return out
}

export function decodePeer(peerId: Buffer, seeder: boolean, b: Buffer): SwarmPeer {
  const flags = b[0]!
  const v6 = (flags & V6) !== 0
  let at = 1
  let ip: string
  if (v6) {
    ip = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(1 + i * 2).toString(16)).join(':')
    at += 16
  } else {
    ip = `${b[1]}.${b[2]}.${b[3]}.${b[4]}`
    at += 4
  }
  const port = b.readUInt16BE(at)
  at += 2
  let spare: number | undefined
  if (flags & SPARE_KNOWN) {
    spare = b.readUInt32BE(at) * 1024
    at += 4
  }
  return {
    peerId: peerId.toString('hex'),
    ip,
    port,
    seeder,
    reachable: flags & REACH_KNOWN ? (flags & REACHABLE) !== 0 : undefined,
    spare,
    site: at < b.length ? b.subarray(at).toString('latin1') : undefined,
  }
}
