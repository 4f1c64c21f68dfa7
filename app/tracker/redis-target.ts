// Pure: `--redis` as the store's connection. One Redis by URL (`redis://`, `rediss://` for TLS),
// or a primary found through Sentinel, which follows it when Sentinel fails it over:
//   redis+sentinel://[:PASSWORD@]HOST:PORT[,HOST:PORT]...[/NAME[/DB]]
// ioredis takes Sentinel as options, not as a URL, so the form is parsed here. Redis Cluster is
// not accepted: the store's metrics read keys of many swarms in one pipeline (README, Tracker).

export interface SentinelAddress {
  readonly host: string
  readonly port: number
}

export type RedisTarget =
  | { readonly kind: 'single'; readonly url: string; readonly where: string }
  | { readonly kind: 'sentinel'; readonly sentinels: readonly SentinelAddress[]; readonly name: string; readonly db: number; readonly password: string | undefined; readonly where: string }

export type ParsedTarget = { readonly ok: true; readonly target: RedisTarget } | { readonly ok: false; readonly reason: string }

/** The primary's name when the URL gives none: Sentinel's own example name. */
export const DEFAULT_SENTINEL_NAME = 'mymaster'
const SENTINEL_PORT = 26379

const SENTINEL = /^redis\+sentinel:\/\/(?::([^@]*)@)?([^/]+)(?:\/([^/]*))?(?:\/(\d+))?$/
const ADDRESS = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/

export function parseRedisTarget(raw: string): ParsedTarget {
  const sentinel = SENTINEL.exec(raw)
  if (sentinel) {
    const [, password, hosts, name, db] = sentinel
    const sentinels: SentinelAddress[] = []
    for (const part of hosts!.split(',')) {
      const a = ADDRESS.exec(part)
      const port = Number(a?.[2] ?? SENTINEL_PORT)
      if (!a || port < 1 || port > 65535) return { ok: false, reason: `"${part}" is not HOST:PORT` }
      sentinels.push({ host: a[1]!.replace(/^\[|\]$/g, ''), port })
    }
    const primary = name ? decodeURIComponent(name) : DEFAULT_SENTINEL_NAME
    return {
      ok: true,
      target: { kind: 'sentinel', sentinels, name: primary, db: Number(db ?? 0), password: password ? decodeURIComponent(password) : undefined, where: `sentinel ${hosts!} (${primary})` },
    }
  }
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { ok: false, reason: 'not a URL' }
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return { ok: false, reason: 'not a redis://, rediss:// or redis+sentinel:// URL' }
  return { ok: true, target: { kind: 'single', url: raw, where: `redis at ${url.hostname || 'localhost'}:${url.port || '6379'}` } }
}
