// The simulated tracker: which peers an announce returns, decided by the tracker's own
// matching (app/tracker/matching.ts: same site, then subnet, then private ranges, then the
// rest, weighted by spare upload). This is the one place the simulator uses it.
//
// Ranking the whole swarm on every announce costs O(swarm) string work; 10,000 clients
// announcing every few minutes would dominate the run. The candidates handed to matchPeers
// are every peer of the requester's own site (the only ones that can rank ahead of the
// rest) plus a uniform sample of `numwant` others, which gives the same distribution of
// answers as ranking them all: within a scope the ranking is uniformly random.
import { matchPeers, type SwarmPeer } from '../../app/tracker/matching.ts'
import type { Rng } from './random.ts'

/** A simulated client as the tracker sees it; its site, when it has one, is told as Shoal clients tell theirs. */
interface Entry extends SwarmPeer {
  readonly id: number
}

/** A simulated client's peer id: its number in 40 hex digits. */
export const peerIdOf = (id: number): string => id.toString(16).padStart(40, '0')

const entry = (id: number, ip: string, site: number): Entry => ({ id, ip, peerId: peerIdOf(id), port: 6881, seeder: false, ...(site >= 0 ? { site: `site-${site}` } : {}) })

/** Members of one swarm, in O(1) add and remove, grouped by site. */
class Members {
  private readonly list: Entry[] = []
  private readonly at = new Map<number, number>()

  add(e: Entry): void {
    if (this.at.has(e.id)) return
    this.at.set(e.id, this.list.length)
    this.list.push(e)
  }

  remove(id: number): void {
    const i = this.at.get(id)
    if (i === undefined) return
    const last = this.list.pop()!
    if (i < this.list.length) {
      this.list[i] = last
      this.at.set(last.id, i)
    }
    this.at.delete(id)
  }

  get size(): number {
    return this.list.length
  }

  entry(i: number): Entry {
    return this.list[i]!
  }

  all(): readonly Entry[] {
    return this.list
  }
}

export class SimTracker {
  private readonly swarm = new Members()
  private readonly bySite = new Map<number, Members>()

  private readonly rng: Rng

  constructor(rng: Rng) {
    this.rng = rng
  }

  join(id: number, ip: string, site: number): void {
    const e = entry(id, ip, site)
    this.swarm.add(e)
    if (site < 0) return
    const m = this.bySite.get(site) ?? new Members()
    this.bySite.set(site, m)
    m.add(e)
  }

  leave(id: number, site: number): void {
    this.swarm.remove(id)
    this.bySite.get(site)?.remove(id)
  }

  get size(): number {
    return this.swarm.size
  }

  /** The ids an announce from `id` returns, at most `numwant`, nearest first. */
  announce(id: number, ip: string, site: number, numwant: number): number[] {
    const candidates = new Map<number, Entry>()
    for (const e of site >= 0 ? (this.bySite.get(site)?.all() ?? []) : []) if (e.id !== id) candidates.set(e.id, e)
    const n = this.swarm.size
    const others = Math.min(numwant, n)
    for (let tries = 0, got = 0; got < others && tries < 4 * others; tries++) {
      const e = this.swarm.entry(Math.floor(this.rng() * n))
      if (e.id === id || candidates.has(e.id)) continue
      candidates.set(e.id, e)
      got++
    }
    return matchPeers(entry(id, ip, site), [...candidates.values()], numwant, this.rng).map((e) => e.id)
  }
}
