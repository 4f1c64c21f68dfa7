// Pure: how near an address is. Used to hand out peers (tracker) and to class bytes (stats).
import { isIP } from 'node:net'

const PRIVATE_V4 = [/^10\./, /^172\.(1[6-9]|2\d|3[01])\./, /^192\.168\./, /^127\./, /^169\.254\./]
const PRIVATE_V6 = [/^f[cd][0-9a-f]{2}:/i, /^fe[89ab][0-9a-f]:/i, /^::1$/]

export function isPrivateAddress(ip: string): boolean {
  return isIP(ip) === 4 ? PRIVATE_V4.some((r) => r.test(ip)) : PRIVATE_V6.some((r) => r.test(ip))
}

function expandV6(ip: string): string[] {
  const [head, tail] = ip.split('::') as [string, string | undefined]
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const fill = tail === undefined ? [] : new Array(8 - left.length - right.length).fill('0')
  return [...left, ...fill, ...right].map((g) => g.padStart(4, '0'))
}

/** The subnet part of an address: the first three octets of IPv4, the first /64 of IPv6. */
export function subnetOf(ip: string): string {
  // Cheap on purpose: the tracker asks this for every candidate of every announce.
  if (!ip.includes(':')) return ip.slice(0, ip.lastIndexOf('.'))
  return expandV6(ip).slice(0, 4).join(':')
}

export function sameSubnet(a: string, b: string): boolean {
  const kind = isIP(a)
  if (kind !== isIP(b) || kind === 0) return false
  return subnetOf(a) === subnetOf(b)
}
