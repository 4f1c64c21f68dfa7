// Swarms in Redis, so any number of stateless tracker instances serve the same swarms. The
// per-swarm keys and the announce script are in redis-scripts.ts. Shared across instances:
//   shoal:swarms      zset  infohash → last admission (ms): the swarm cap and the metrics' index
//   shoal:ann:{b}, shoal:sites:{b}  announces per 10-s bucket, in all and by site
//   shoal:ann         announces since the store began
//   shoal:off, shoal:off:{ih}  offload reports (bytes by source, and the count)
import { Redis } from 'ioredis'
import { decodePeer, encodePeer } from './peer-codec.ts'
import { siteOf, type SwarmPeer } from './matching.ts'
import type { ScrapeCounts } from './announce-response.ts'
import { ADMIT_LUA, ANNOUNCE_LUA } from './redis-scripts.ts'
import type { RedisTarget } from './redis-target.ts'
import { announceRate, BUCKET_MS, bucketsWithin, tally, topSites, type BucketCounts, type OffloadReport } from './tracker-metrics.ts'
import { LABELLED_SITES, LABELLED_SWARMS, type StoreAnswer, type StoreLimits, type SwarmSummary, type TrackerSnapshot, type TrackerStore } from './tracker-store.ts'

/** How long an instance trusts its own note that a swarm is admitted before asking Redis again. */
const ADMIT_REFRESH_MS = 10_000
const FLUSH_MS = 1000
const SWARMS = 'shoal:swarms'

type Arg = string | Buffer | number
interface ScriptCommands {
  shoalAnnounceBuffer(...args: Arg[]): Promise<unknown>
  shoalAdmit(...args: Arg[]): Promise<unknown>
}
const swarmKeys = (ih: string) => [`shoal:{${ih}}:s`, `shoal:{${ih}}:l`, `shoal:{${ih}}:m`, `shoal:{${ih}}:c`]

/** A swarm's sample as this instance last got it, and the swarm version it shows. */
interface Sample {
  readonly epoch: string
  version: number
  /** When it came: a partial sample of a large swarm is drawn again after PARTIAL_SAMPLE_MS. */
  readonly at: number
  /** Whether it holds the whole swarm. */
  whole: boolean
  peers: SwarmPeer[]
  expiries: number[]
  /**
   * The soonest expiry among `peers` (ms). Past it the sample is drawn again: a peer that
   * announced since without a change kept its place but not the expiry held here.
   */
  soonest: number
}

/** How long a sample of a swarm larger than the sample serves: every requester then sees others. */
const PARTIAL_SAMPLE_MS = 1000

/** The announce script's packed sample (records of [value length][20-byte peer id][value]) into `into`. */
function addPeers(into: Pick<Sample, 'peers' | 'expiries'>, packed: Buffer, seeder: boolean): void {
  for (let at = 0; at < packed.length; ) {
    const length = packed[at]!
    const value = packed.subarray(at + 21, at + 21 + length)
    // A value is [expiry, s: 4][filed slot: 2][the peer] (redis-scripts.ts).
    into.expiries.push(value.readUInt32BE(0) * 1000)
    into.peers.push(decodePeer(packed.subarray(at + 1, at + 21), seeder, value.subarray(6)))
    at += 21 + length
  }
}

/**
 * Brings a held sample up to date with what changed since its version (the script's delta):
 * a whole swarm takes every change; a partial sample updates or drops the peers it holds.
 */
function applyDelta(sample: Sample, seeds: Buffer, leechers: Buffer, gone: Buffer): void {
  const changed: Pick<Sample, 'peers' | 'expiries'> = { peers: [], expiries: [] }
  addPeers(changed, seeds, true)
  addPeers(changed, leechers, false)
  const held = new Map(sample.peers.map((p, i) => [p.peerId, i]))
  const drop = new Set<number>()
  for (let at = 0; at + 20 <= gone.length; at += 20) {
    const i = held.get(gone.toString('hex', at, at + 20))
    if (i !== undefined) drop.add(i)
  }
  changed.peers.forEach((p, k) => {
    const i = held.get(p.peerId)
    if (i !== undefined) {
      sample.peers[i] = p
      sample.expiries[i] = changed.expiries[k]!
    } else if (sample.whole) {
      sample.peers.push(p)
      sample.expiries.push(changed.expiries[k]!)
    }
  })
  if (drop.size === 0) return
  sample.peers = sample.peers.filter((_, i) => !drop.has(i))
  sample.expiries = sample.expiries.filter((_, i) => !drop.has(i))
}

/** Drops the peers that expired by `now` (Redis sweeps them a little later). */
function dropExpired(sample: Sample, now: number): void {
  const keep = sample.expiries.map((e) => e > now)
  sample.peers = sample.peers.filter((_, i) => keep[i])
  sample.expiries = sample.expiries.filter((e) => e > now)
  sample.soonest = Math.min(Infinity, ...sample.expiries)
}

export class RedisStore implements TrackerStore {
  private readonly redis: Redis
  private lastError = 'not connected yet'
  /** Swarms this instance admitted lately: infohash → when. */
  private readonly admitted = new Map<string, number>()
  /** The last sample of each swarm this instance served, by infohash. */
  private readonly samples = new Map<string, Sample>()
  /** Announces not yet added to Redis' shared counts. */
  private pending = new Map<number, BucketCounts>()
  private readonly flusher: NodeJS.Timeout

  private readonly limits: StoreLimits

  private readonly where: string

  constructor(target: RedisTarget, limits: StoreLimits) {
    this.limits = limits
    this.where = target.where
    const options = {
      // Fail fast while Redis is away: the announce gets a failure reason, and the client
      // moves on along its announce list, rather than waiting on a queue.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 2000,
      lazyConnect: false,
      enableAutoPipelining: true,
    }
    this.redis =
      target.kind === 'single'
        ? new Redis(target.url, options)
        : new Redis({ ...options, sentinels: target.sentinels.map((a) => ({ ...a })), name: target.name, db: target.db, password: target.password, sentinelPassword: target.password })
    // ioredis sends these by SHA-1 and loads them again when Redis has forgotten them (a restart).
    this.redis.defineCommand('shoalAnnounce', { numberOfKeys: 4, lua: ANNOUNCE_LUA })
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
    return `tracker store unavailable: ${this.where} (${this.lastError || this.redis.status})`
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
      const held = this.samples.get(infoHash)
      const usable = held && held.soonest > now && (held.whole || now - held.at < PARTIAL_SAMPLE_MS) ? held : undefined
      const args = [id, encodePeer(peer), peer.seeder ? '1' : '0', stopped ? '1' : '0', now, this.limits.peerTtlMs, sample, usable?.epoch ?? '', usable?.version ?? -1]
      const reply = (await this.scripts().shoalAnnounceBuffer(...swarmKeys(infoHash), ...args)) as [number, number, Buffer, number, Buffer?, Buffer?, Buffer?, Buffer?]
      tally(this.pending, siteOf(peer), now)
      const [complete, incomplete, , version, kind] = reply
      let current = usable
      if (kind?.toString() === 'd' && usable) {
        applyDelta(usable, reply[5]!, reply[6]!, reply[7]!)
        usable.version = version
      }
      if (stopped) return { ok: true, swarm: { complete, incomplete, candidates: [] } }
      if (kind?.toString() === 's') {
        current = { epoch: reply[2].toString(), version, at: now, whole: false, peers: [], expiries: [], soonest: 0 }
        addPeers(current, reply[5]!, true)
        addPeers(current, reply[6]!, false)
        current.whole = current.peers.length >= complete + incomplete
        dropExpired(current, now)
        // Bounded like the swarms themselves: forget everything when it outgrows the cap.
        if (this.samples.size >= this.limits.maxSwarms) this.samples.clear()
        this.samples.set(infoHash, current)
      }
      // The requester may be in the sample: the matching never hands a peer itself.
      return { ok: true, swarm: { complete, incomplete, candidates: current?.peers ?? [] } }
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
