// Whether a URL the agent would fetch (a channel, a mirror) points back at its own control API
// on this machine: such a product would have the agent request its own API.

const LOOPBACK_NAMES = new Set(['localhost', '0.0.0.0', '[::1]', '[::]'])

function isLoopbackHost(hostname: string): boolean {
  // WHATWG URL has already normalized 127.1, 2130706433 and [::ffff:127.0.0.1] to their canonical forms.
  return LOOPBACK_NAMES.has(hostname) || hostname.endsWith('.localhost') || /^127\./.test(hostname) || /^\[::ffff:7f[0-9a-f]{2}:/.test(hostname)
}

/** True when `url` (http or https) names this machine on `apiPort`. */
export function isOwnApiAddress(url: string, apiPort: number): boolean {
  const u = new URL(url)
  const port = u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80
  return port === apiPort && isLoopbackHost(u.hostname)
}
