// Pure: the source class of a peer's bytes. `lan` is a loopback, private-range or
// same-subnet address; `wan` is anything else.
import { isPrivateAddress, sameSubnet } from '../../net/address-scope.ts'

export type PeerClass = 'lan' | 'wan'

/** IPv4-mapped IPv6 ("::ffff:10.0.0.1") is judged as the IPv4 address it carries. */
export function unmapAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return m ? m[1]! : address
}

/** The host of a peer address, "ip:port" or "[ip6]:port", unmapped as unmapAddress does. */
export function hostOfPeer(address: string): string {
  const m = /^\[(.*)\]:\d+$/.exec(address) ?? /^(.*):\d+$/.exec(address)
  return unmapAddress(m ? m[1]! : address)
}

/** `localAddresses`: this machine's interface addresses, for the same-subnet rule. */
export function classifyPeer(remoteAddress: string, localAddresses: readonly string[]): PeerClass {
  const ip = unmapAddress(remoteAddress)
  if (isPrivateAddress(ip)) return 'lan'
  return localAddresses.some((local) => sameSubnet(unmapAddress(local), ip)) ? 'lan' : 'wan'
}
