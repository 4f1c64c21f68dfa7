// Which HTTP redirects a fetch follows. CDNs and object stores send clients to an edge host
// with a redirect; a mirror that does so stays usable, within a bound, and never downgrades
// from https to plain http (the edge would see what the client asked for in clear).

/** Redirects followed for one request before the mirror counts as broken. */
export const MAX_REDIRECTS = 5

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

export function isRedirect(status: number): boolean {
  return REDIRECT_STATUSES.has(status)
}

export type RedirectStep = { readonly ok: true; readonly url: URL } | { readonly ok: false; readonly problem: string }

/** Where a redirect from `from` with this Location leads, `hops` redirects into the request; or why it is not followed. */
export function followRedirect(from: URL, location: string | undefined, hops: number): RedirectStep {
  if (hops >= MAX_REDIRECTS) return { ok: false, problem: `more than ${MAX_REDIRECTS} redirects` }
  if (!location) return { ok: false, problem: 'a redirect without a Location' }
  let to: URL
  try {
    to = new URL(location, from)
  } catch {
    return { ok: false, problem: `a redirect to an invalid Location "${location.slice(0, 200)}"` }
  }
  if (to.protocol !== 'http:' && to.protocol !== 'https:') return { ok: false, problem: `a redirect to ${to.protocol} (only http and https are followed)` }
  if (from.protocol === 'https:' && to.protocol === 'http:') return { ok: false, problem: `a redirect from https to http (${to.href})` }
  return { ok: true, url: to }
}
