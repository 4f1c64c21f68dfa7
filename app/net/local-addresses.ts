import { networkInterfaces } from 'node:os'

/** This machine's interface addresses, for the same-subnet rule of the lan/wan classes. */
export function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address))
}
