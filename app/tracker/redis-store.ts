// Swarms in Redis, so any number of stateless tracker instances serve the same swarms.
// Per swarm (keys share the `{infohash}` hash tag, so one swarm lives on one Redis Cluster slot):
//   shoal:{ih}:s  hash   peer id (20 bytes) → packed peer (peer-codec.ts), seeders
//   shoal:{ih}:l  hash   the same for leechers
//   shoal:{ih}:e  zset   peer id → expiry (ms); each announce drops a bounded batch of expired peers
// All three expire one peer TTL after the swarm's last announce. Shared across instances:
//   shoal:swarms      zset  infohash → last admission (ms): the swarm cap and the metrics' index
//   shoal:ann:{b}, shoal:sites:{b}  announces per 10-s bucket, in all and by site
//   shoal:ann         announces since the store began
//   shoal:off, shoal:off:{ih}  offload reports (bytes by source, and the count)
import { Redis } from 'ioredis'
import { decodePeer, encodePeer } from './peer-codec.ts'
import { siteOf, type SwarmPeer } from './matching.ts'
import type { ScrapeCounts } from './announce-response.ts'
import { announceRate, BUCKET_MS, bucketsWithin, tally, topSites, type BucketCounts, type OffloadReport } from './tracker-metrics.ts'
import { LABELLED_SITES, LABELLED_SWARMS, type StoreAnswer, type StoreLimits, type SwarmSummary, type TrackerSnapshot, type TrackerStore } from './tracker-store.ts'

// The samples come back as one string per hash, records of [value length][peer id][value]:
// two bulk replies for ioredis to parse instead of four hundred.
const ANNOUNCE_LUA = `
local function pack(flat)
  local parts = {}
  for i = 1, #flat, 2 do parts[#parts + 1] = string.char(#flat[i + 1]) .. flat[i] .. flat[i + 1] end
  return table.concat(parts)
end
local s, l, e = KEYS[1], KEYS[2], KEYS[3]
local id, now, ttl = ARGV[1], tonumber(ARGV[5]), tonumber(ARGV[6])
local old = redis.call('ZRANGEBYSCORE', e, '-inf', now, 'LIMIT', 0, 64)
if #old > 0 then
  redis.call('HDEL', s, unpack(old))
  redis.call('HDEL', l, unpack(old))
  redis.call('ZREM', e, unpack(old))
end
if ARGV[4] == '1' then
  redis.call('HDEL', s, id)
  redis.call('HDEL', l, id)
  redis.call('ZREM', e, id)
  return {redis.call('HLEN', s), redis.call('HLEN', l), '', ''}
end
local mine, other = l, s
if ARGV[3] == '1' then mine, other = s, l end
redis.call('HSET', mine, id, ARGV[2])
redis.call('HDEL', other, id)
redis.call('ZADD', e, now + ttl, id)
redis.call('PEXPIRE', s, ttl)
redis.call('PEXPIRE', l, ttl)
redis.call('PEXPIRE', e, ttl)
local want = tonumber(ARGV[7]) + 1
local seeds = ''
if ARGV[3] ~= '1' then seeds = pack(redis.call('HRANDFIELD', s, want, 'WITHVALUES')) end
return {redis.call('HLEN', s), redis.call('HLEN', l), seeds, pack(redis.call('HRANDFIELD', l, want, 'WITHVALUES'))}
`

// Admits a swarm: known ones are refreshed; a new one only while fewer than the cap are active.
const ADMIT_LUA = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  return 1
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
`

/** How long an instance trusts its own note that a swarm is admitted before asking Redis again. */
const ADMIT_REFRESH_MS = 10_000
const FLUSH_MS = 1000
const SWARMS = 'shoal:swarms'

type Arg = string | Buffer | number
interface ScriptCommands {
  shoalAnnounceBuffer(...args: Arg[]): Promise<unknown>
  shoalAdmit(...args: Arg[]): Promise<unknown>
}
const swarmKeys = (ih: string) => [`shoal:{${ih}}:s`, `shoal:{${ih}}:l`, `shoal:{${ih}}:e`]

/** The announce script's packed sample (records of [value length][20-byte peer id][value]) into peers. */
function peersOf(packed: Buffer, seeder: boolean, self: Buffer): SwarmPeer[] {
  const out: SwarmPeer[] = []
  for (let at = 0; at < packed.length; ) {
    const length = packed[at]!
    const id = packed.subarray(at + 1, at + 21)
    if (!id.equals(self)) out.push(decodePeer(id, seeder, packed.subarray(at + 21, at + 21 + length)))
    at += 21 + length
  }
  return out
}

export class RedisStore implements TrackerStore {
  private readonly redis: Redis
  private lastError = 'not connected yet'
  /** Swarms this instance admitted lately: infohash → when. */
  private readonly admitted = new Map<string, number>()
  /** Announces not yet added to Redis' shared counts. */
  private pending = new Map<number, BucketCounts>()
  private readonly flusher: NodeJS.Timeout

  private readonly limits: StoreLimits

  constructor(url: string, limits: StoreLimits) {
    this.limits = limits
    this.redis = new Redis(url, {
      // Fail fast while Redis is away: the announce gets a failure reason, and the client
      // moves on along its announce list, rather than waiting on a queue.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 2000,
      lazyConnect: false,
      enableAutoPipelining: true,
    })
    // ioredis sends these by SHA-1 and loads them again when Redis has forgotten them (a restart).
    this.redis.defineCommand('shoalAnnounce', { numberOfKeys: 3, lua: ANNOUNCE_LUA })
    this.redis.defineCommand('shoalAdmit', { numberOfKeys: 1, lua: ADMIT_LUA })
    this.redis.on('error', (err: NodeJS.ErrnoException) => (this.lastError = err.code ?? err.message))
    this.redis.on('ready', () => (this.lastError = ''))
    this.flusher = setInterval(() => void this.flush().catch(() => undefined), FLUSH_MS)
  }

  /** Resolves once connected, or with the reason it is not after `ms`. */
  async ready(ms: number): Promise<string | undefined> {
    const deadline = Date.now() + ms
    while (this.redis.status !== 'ready' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    return this.redis.status === 'ready' ? undefined : this.unavailable()
  }

  private unavailable(): string {
    const { host, port } = this.redis.options
    return `tracker store unavailable: redis at ${host ?? '?'}:${port ?? '?'} (${this.lastError || this.redis.status})`
  }

  /** The commands defineCommand added, which ioredis' types cannot know. */
  private scripts(): ScriptCommands {
    return this.redis as unknown as ScriptCommands
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    if (this.redis.status !== 'ready') throw new Error(this.unavailable())
    try {
      return await work()
    } catch (err) {
      throw new Error(this.redis.status === 'ready' ? `tracker store error: ${(err as Error).message}` : this.unavailable(), { cause: err })
    }
  }

  announce(infoHash: string, peer: SwarmPeer, stopped: boolean, sample: number, now: number): Promise<StoreAnswer> {
    return this.guard(async () => {
      if (!stopped && !(await this.admit(infoHash, now))) return { ok: false, reason: `swarm limit reached (${this.limits.maxSwarms}): this tracker serves no new releases now` }
      const id = Buffer.from(peer.peerId, 'hex')
      const reply = (await this.scripts().shoalAnnounceBuffer(...swarmKeys(infoHash), id, encodePeer(peer), peer.seeder ? '1' : '0', stopped ? '1' : '0', now, this.limits.peerTtlMs, sample)) as [number, number, Buffer, Buffer]
      tally(this.pending, siteOf(peer), now)
      const candidates = [...peersOf(reply[2], true, id), ...peersOf(reply[3], false, id)]
      return { ok: true, swarm: { complete: reply[0], incomplete: reply[1], candidates } }
    })
  }

  private async admit(infoHash: string, now: number): Promise<boolean> {
    const seen = this.admitted.get(infoHash)
    if (seen !== undefined && now - seen < ADMIT_REFRESH_MS) return true
    const ok = (await this.scripts().shoalAdmit(SWARMS, infoHash, now, now - this.limits.peerTtlMs, this.limits.maxSwarms)) === 1
    // Bounded like the swarms themselves: forget everything when it outgrows the cap.
    if (this.admitted.size > this.limits.maxSwarms) this.admitted.clear()
    if (ok) this.admitted.set(infoHash, now)
    return ok
  }

  scrape(infoHashes: readonly string[]): Promise<ScrapeCounts[]> {
    return this.guard(async () => {
      const p = this.redis.pipeline()
      for (const h of infoHashes) swarmKeys(h).slice(0, 2).forEach((k) => p.hlen(k))
      const res = ((await p.exec()) ?? []).map(([err, n]) => (err ? 0 : Number(n)))
      return infoHashes.map((infoHash, i) => ({ infoHash, complete: res[i * 2]!, incomplete: res[i * 2 + 1]! }))
    })
  }

  report(r: OffloadReport): Promise<void> {
    return this.guard(async () => {
      const p = this.redis.pipeline().hincrby('shoal:off', 'reports', 1)
      for (const k of ['cdn', 'lan', 'wan'] as const) p.hincrby('shoal:off', k, r[k])
      for (const [reason, n] of Object.entries(r.peerRefusals ?? {})) p.hincrby('shoal:refused', reason, n)
      // Per swarm only for admitted swarms, so reports cannot grow Redis or the labels.
      if ((await this.redis.zscore(SWARMS, r.infoHash)) !== null) {
        for (const k of ['cdn', 'lan', 'wan'] as const) p.hincrby(`shoal:off:${r.infoHash}`, k, r[k])
        p.pexpire(`shoal:off:${r.infoHash}`, Math.max(this.limits.peerTtlMs, 86_400_000))
      }
      await p.exec()
    })
  }

  /** Adds this instance's announce counts to the shared ones. */
  private async flush(): Promise<void> {
    if (this.pending.size === 0 || this.redis.status !== 'ready') return
    const pending = this.pending
    this.pending = new Map()
    const keep = Math.ceil((Math.max(this.limits.intervalMs, 60_000) + BUCKET_MS) / 1000)
    const p = this.redis.pipeline()
    for (const [b, c] of pending) {
      p.incrby('shoal:ann', c.total).incrby(`shoal:ann:${b}`, c.total).expire(`shoal:ann:${b}`, keep)
      for (const [site, n] of c.sites) p.hincrby(`shoal:sites:${b}`, site, n)
      p.expire(`shoal:sites:${b}`, keep)
    }
    await p.exec()
  }

  snapshot(now: number): Promise<TrackerSnapshot> {
    return this.guard(async () => {
      await this.flush()
      const hashes = await this.redis.zrangebyscore(SWARMS, now - this.limits.peerTtlMs, '+inf')
      const sizes = this.redis.pipeline()
      for (const h of hashes) swarmKeys(h).slice(0, 2).forEach((k) => sizes.hlen(k))
      const n = ((await sizes.exec()) ?? []).map(([err, v]) => (err ? 0 : Number(v)))
      const all = hashes.map((infoHash, i) => ({ infoHash, complete: n[i * 2]!, incomplete: n[i * 2 + 1]! })).filter((s) => s.complete + s.incomplete > 0)
      const largest = all.sort((a, b) => b.complete + b.incomplete - (a.complete + a.incomplete)).slice(0, LABELLED_SWARMS)
      const rate = bucketsWithin(now, 60_000)
      const sites = bucketsWithin(now, this.limits.intervalMs)
      const p = this.redis.pipeline().get('shoal:ann').hgetall('shoal:off').hgetall('shoal:refused')
      for (const s of largest) p.hgetall(`shoal:off:${s.infoHash}`)
      for (const b of rate) p.get(`shoal:ann:${b}`)
      for (const b of sites) p.hgetall(`shoal:sites:${b}`)
      const res = ((await p.exec()) ?? []).map(([, v]) => v)
      const off = (v: unknown) => {
        const h = (v ?? {}) as Record<string, string>
        return { cdn: Number(h['cdn'] ?? 0), lan: Number(h['lan'] ?? 0), wan: Number(h['wan'] ?? 0) }
      }
      let at = 3
      const withOffload: SwarmSummary[] = largest.map((s) => ({ ...s, offload: off(res[at++]) }))
      const totals = new Map(rate.map((b) => [b, Number(res[at++] ?? 0)]))
      const perBucket = sites.map(() => new Map(Object.entries((res[at++] ?? {}) as Record<string, string>).map(([k, v]) => [k, Number(v)])))
      return {
        swarms: all.length,
        seeders: all.reduce((s, x) => s + x.complete, 0),
        leechers: all.reduce((s, x) => s + x.incomplete, 0),
        largest: withOffload,
        announcesTotal: Number(res[0] ?? 0),
        announcesPerSecond: announceRate(totals, now),
        sites: topSites(perBucket, LABELLED_SITES),
        reports: Number(((res[1] ?? {}) as Record<string, string>)['reports'] ?? 0),
        offload: off(res[1]),
        peerRefusals: Object.fromEntries(Object.entries((res[2] ?? {}) as Record<string, string>).map(([k, v]) => [k, Number(v)])),
      }
    })
  }

  async close(): Promise<void> {
    clearInterval(this.flusher)
    await this.flush().catch(() => undefined)
    this.redis.disconnect()
  }
}
