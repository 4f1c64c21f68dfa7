// The discrete-event simulator: thousands of clients, each running Shoal's own decisions.
// The CDN's pieces come from the scheduler (app/engine/scheduler/cdn-scheduler.ts), the
// download cap's split from the policy (app/policy/cap-split.ts), and the peers an announce
// returns from the tracker's ranking (sim-tracker.ts); nothing here re-implements them.
//
// Time moves in steps of `stepMs`: events (joins, announces, pauses, departures) fire at
// their times from a queue, then every transfer moves by its rate for one step. Rates are
// shared out over the links they cross (the sender's up link, the receiver's down link and
// its peer share of a capped download, a site's WAN both ways and its LAN's total): each
// transfer gets its fair share of its tightest link, then what links leave unused is handed
// back in proportion. A transfer that finishes a piece goes on into the next one in the
// same step, so a coarse step does not cost throughput.
import { noCdnPieces, scheduleCdn, type CdnReason, type SchedulerInput } from '../../app/engine/scheduler/cdn-scheduler.ts'
import { memberKey } from '../../app/engine/scheduler/piece-owner.ts'
import { splitDownCap } from '../../app/policy/cap-split.ts'
import { EventQueue } from './event-queue.ts'
import { draw, pairBlocked, seeded, type Rng } from './random.ts'
import type { Scenario } from './scenario.ts'
import { peerIdOf, SimTracker } from './sim-tracker.ts'

/** Pieces of the client's order the scheduler sees at once (SchedulerInput.piecesLeft). */
const WINDOW = 16
/** Random probes for a piece a peer has and we need, before trying the next peer. */
const PROBES = 48
/** Share of clients that cap their download, and where (a fraction of their link): the cap split decides. */
const CAPPED_SHARE = 0.2
const CAP_FRACTION = 0.5
/** The CDN source's connections (install-job's default): on a shared link it gets that many fair shares. */
const CDN_CONNECTIONS = 4
/** webtorrent's download speed is a moving figure over a few seconds. */
const PEER_RATE_WINDOW_MS = 5000

interface Flow {
  /** Where it sits in the list of flows (for O(1) removal). */
  at: number
  /** The last step that moved it. */
  moved: number
  readonly from: number
  readonly to: number
  piece: number
  done: number
  rate: number
  readonly res: readonly number[]
  readonly lan: boolean
}

interface Client {
  readonly id: number
  readonly ip: string
  readonly site: number
  /** memberKey of its peer id, for the scheduler's group (its site's machines). */
  readonly key: number
  readonly cdnRate: number
  readonly downCap: number | null
  readonly joinAt: number
  readonly pauseAfterMs: number | undefined
  readonly pauseMs: number
  readonly seedMs: number
  have: Uint8Array | undefined
  haveCount: number
  /** Pieces still needed, in this client's order; entries already had are dropped lazily. */
  missing: Uint16Array | undefined
  missingLen: number
  state: 'waiting' | 'downloading' | 'seeding' | 'paused' | 'gone'
  session: number
  sessionStart: number
  sessionBase: number
  activeMs: number
  doneAt: number | undefined
  readonly neighbours: Set<number>
  readonly inFrom: Map<number, Flow>
  readonly out: Set<Flow>
  readonly fromPeers: Set<number>
  readonly cdnQueue: number[]
  cdnHeadDone: number
  cdnCap: number
  cdnBytes: number
  cdnBusyMs: number
  /** The CDN's best measured rate so far (the fetch session's estimate): sharing the link with peers only lowers what it measures. */
  cdnRateSeen: number
  peerRate: number
  peerBytesStep: number
  nextDecision: number
  /** When to look for peers to fetch from again, after a look found nothing. */
  nextFill: number
  rotate: number
}

export interface TimelinePoint {
  readonly t: number
  /** CDN egress over the sample, bytes per second. */
  readonly cdnRate: number
  /** Clients in the swarm (downloading or seeding). */
  readonly peers: number
  readonly downloading: number
}

export interface SimResult {
  readonly scenario: string
  readonly seed: number
  readonly clients: number
  readonly releaseBytes: number
  readonly pieces: number
  readonly completed: number
  readonly simSeconds: number
  readonly cdnBytes: number
  readonly peerBytes: { readonly lan: number; readonly wan: number }
  /** Bytes sent that no client used: transfers cut off by a departure, duplicates of the endgame. */
  readonly wastedBytes: number
  readonly sentBytes: number
  readonly usefulBytes: number
  readonly doubleCounted: number
  readonly cdnPieces: Record<CdnReason, number>
  /** Each client's active download time, ms, by id (undefined: not completed). */
  readonly completionMs: readonly (number | undefined)[]
  readonly siteWan: readonly { readonly down: number; readonly up: number }[]
  readonly timeline: readonly TimelinePoint[]
}

export function simulate(sc: Scenario): SimResult {
  const L = sc.pieceLength
  const P = Math.ceil(sc.releaseBytes / L)
  if (P > 65535) throw new Error('the simulator keeps piece numbers in 16 bits')
  const attrs = seeded(sc.seed)
  const rng = seeded(sc.seed ^ 0x5eed)
  const peers = sc.mode.kind !== 'cdn-only'
  const sites = sc.sites
  const S = sites?.count ?? 0
  const N = sc.seeders + sc.clients
  const tracker = new SimTracker(rng)
  const queue = new EventQueue()

  // Resources: up link, down link and peer share of each client; each site's WAN down, WAN up and total.
  const UP = 0
  const DOWN = N
  const PEER_DOWN = 2 * N
  const WAN_DOWN = 3 * N
  const WAN_UP = 3 * N + S
  const SITE_TOTAL = 3 * N + 2 * S
  const cap = new Float64Array(3 * N + 3 * S).fill(Infinity)
  const count = new Float64Array(cap.length)
  const used = new Float64Array(cap.length)
  for (let s = 0; s < S; s++) {
    cap[WAN_DOWN + s] = sites!.wanDown
    cap[WAN_UP + s] = sites!.wanUp
    cap[SITE_TOTAL + s] = sites!.total
  }

  const clients: Client[] = []
  for (let id = 0; id < N; id++) {
    const seeder = id < sc.seeders
    const k = id - sc.seeders
    const site = sites ? id % sites.count : -1
    const ip = site >= 0 ? `10.${site >> 8}.${site & 255}.${1 + (Math.floor(id / sites!.count) % 250)}` : `${11 + (id >> 16)}.${(id >> 8) & 255}.${id & 255}.1`
    const joinAt = seeder ? 0 : sc.joinGapMs !== undefined ? k * sc.joinGapMs : sc.joinOverMs > 0 ? attrs() * sc.joinOverMs : 0
    const down = site >= 0 ? sites!.lanRate : draw(sc.down, attrs)
    const up = seeder ? draw(sc.seederUp, attrs) : site >= 0 ? sites!.lanRate : draw(sc.up, attrs)
    const cdnRate = draw(sc.cdnRate, attrs)
    const capped = attrs() < CAPPED_SHARE
    const pauses = attrs() < sc.pauseShare
    const pauseAfterMs = pauses ? attrs() * ((sc.releaseBytes / Math.min(cdnRate, down)) * 1000) : undefined
    const pauseMs = draw(sc.pauseFor, attrs)
    const seedMs = draw(sc.seedFor, attrs)
    cap[UP + id] = up
    // The user's cap holds for the whole download; the cap split shares it between the CDN and peers.
    cap[DOWN + id] = !seeder && capped ? down * CAP_FRACTION : down
    clients.push({
      id,
      ip,
      site,
      key: memberKey(peerIdOf(id)),
      cdnRate,
      downCap: !seeder && capped ? down * CAP_FRACTION : null,
      joinAt,
      pauseAfterMs,
      pauseMs,
      seedMs,
      have: undefined,
      haveCount: 0,
      missing: undefined,
      missingLen: 0,
      state: 'waiting',
      session: 0,
      sessionStart: 0,
      sessionBase: 0,
      activeMs: 0,
      doneAt: undefined,
      neighbours: new Set(),
      inFrom: new Map(),
      out: new Set(),
      fromPeers: new Set(),
      cdnQueue: [],
      cdnHeadDone: 0,
      cdnCap: Infinity,
      cdnBytes: 0,
      cdnBusyMs: 0,
      cdnRateSeen: 0,
      peerRate: 0,
      peerBytesStep: 0,
      nextDecision: 0,
      nextFill: 0,
      rotate: 0,
    })
    queue.push({ at: joinAt, kind: 'join', client: id, session: 0 })
  }

  let now = 0
  let step = 0
  let cdnBytes = 0
  let lanBytes = 0
  let wanBytes = 0
  let wasted = 0
  let sent = 0
  let useful = 0
  let doubleCounted = 0
  let completed = 0
  const cdnPieces = noCdnPieces()
  const siteWan = Array.from({ length: S }, () => ({ down: 0, up: 0 }))
  const flows: Flow[] = []
  const timeline: TimelinePoint[] = []
  const availability = new Uint16Array(P)
  const downloading = new Set<number>()

  const startSession = (c: Client) => {
    c.session++
    c.sessionStart = now
    c.sessionBase = c.haveCount
    c.nextDecision = now
    if (peers) {
      tracker.join(c.id, c.ip, c.site)
      queue.push({ at: now, kind: 'announce', client: c.id, session: c.session })
    }
  }

  const join = (c: Client) => {
    if (c.id < sc.seeders) {
      c.have = new Uint8Array(P).fill(1)
      c.haveCount = P
      c.state = 'seeding'
      startSession(c)
      return
    }
    c.have = new Uint8Array(P)
    c.missing = new Uint16Array(P)
    for (let p = 0; p < P; p++) c.missing[p] = p
    // Each client's own random order: a shared order would have every client that starts at
    // once ask the CDN for the same pieces.
    for (let p = P - 1; p > 0; p--) {
      const q = Math.floor(rng() * (p + 1))
      const t = c.missing[p]!
      c.missing[p] = c.missing[q]!
      c.missing[q] = t
    }
    c.missingLen = P
    c.state = 'downloading'
    downloading.add(c.id)
    startSession(c)
    if (c.pauseAfterMs !== undefined) queue.push({ at: now + c.pauseAfterMs, kind: 'pause', client: c.id, session: c.session })
  }

  const removeFlow = (f: Flow) => {
    const last = flows.pop()!
    if (last !== f) {
      flows[f.at] = last
      last.at = f.at
    }
    clients[f.to]!.inFrom.delete(f.from)
    clients[f.to]!.fromPeers.delete(f.piece)
    clients[f.from]!.out.delete(f)
  }

  const cancelFlow = (f: Flow) => {
    wasted += f.done
    removeFlow(f)
  }

  /** Leaves the swarm: connections close, transfers to and from it are lost. */
  const disconnect = (c: Client) => {
    tracker.leave(c.id, c.site)
    for (const n of c.neighbours) clients[n]!.neighbours.delete(c.id)
    c.neighbours.clear()
    for (const f of [...c.out, ...c.inFrom.values()]) cancelFlow(f)
    if (c.cdnQueue.length > 0) wasted += c.cdnHeadDone
    c.cdnQueue.length = 0
    c.cdnHeadDone = 0
  }

  const resources = (from: number, to: number): { res: number[]; lan: boolean } => {
    const a = clients[from]!
    const b = clients[to]!
    const res = [UP + from, DOWN + to, PEER_DOWN + to]
    const lan = a.site >= 0 && a.site === b.site
    if (lan) res.push(SITE_TOTAL + a.site)
    else {
      if (a.site >= 0) res.push(WAN_UP + a.site, SITE_TOTAL + a.site)
      if (b.site >= 0) res.push(WAN_DOWN + b.site, SITE_TOTAL + b.site)
    }
    return { res, lan }
  }

  /** A piece `from` has that `to` needs and fetches from nobody yet; undefined: none found. */
  const pieceFor = (to: Client, from: Client): number | undefined => {
    const have = to.have!
    const theirs = from.have!
    const missing = to.missing!
    const exhaustive = to.missingLen <= PROBES * 4
    const tries = exhaustive ? to.missingLen : PROBES
    for (let t = 0; t < tries && to.missingLen > 0; t++) {
      const k = exhaustive ? t : Math.floor(rng() * to.missingLen)
      if (k >= to.missingLen) break
      const p = missing[k]!
      if (have[p]) {
        missing[k] = missing[--to.missingLen]!
        if (exhaustive) t--
        continue
      }
      if (theirs[p] && !to.fromPeers.has(p) && !to.cdnQueue.includes(p)) return p
    }
    return undefined
  }

  const complete = (c: Client, piece: number, source: 'cdn' | Flow) => {
    if (c.have![piece]) {
      doubleCounted++
      return
    }
    c.have![piece] = 1
    c.haveCount++
    useful += L
    // Whoever else was bringing this piece stops; what they sent is lost.
    if (source === 'cdn' || c.fromPeers.has(piece)) {
      for (const f of c.inFrom.values()) {
        if (f !== source && f.piece === piece) {
          wasted += f.done
          f.done = 0
          c.fromPeers.delete(piece)
          const next = pieceFor(c, clients[f.from]!)
          if (next === undefined) removeFlow(f)
          else {
            f.piece = next
            c.fromPeers.add(next)
          }
        }
      }
    }
    const q = c.cdnQueue.indexOf(piece)
    if (source !== 'cdn' && q >= 0) {
      if (q === 0) {
        wasted += c.cdnHeadDone
        c.cdnHeadDone = 0
      }
      c.cdnQueue.splice(q, 1)
      c.nextDecision = now
    }
    if (c.haveCount === P) finish(c)
  }

  const finish = (c: Client) => {
    c.doneAt = now
    c.activeMs += now - c.sessionStart
    completed++
    c.state = 'seeding'
    downloading.delete(c.id)
    for (const f of [...c.inFrom.values()]) cancelFlow(f)
    c.missing = undefined
    c.cdnQueue.length = 0
    if (!peers) {
      c.state = 'gone'
      return
    }
    queue.push({ at: now + c.seedMs, kind: 'leave', client: c.id, session: c.session })
  }

  const connect = (a: Client, b: Client) => {
    if (a.neighbours.has(b.id) || a.id === b.id) return
    if (a.neighbours.size >= sc.maxPeers || b.neighbours.size >= sc.maxPeers) return
    if (!(a.site >= 0 && a.site === b.site) && pairBlocked(sc.seed, a.id, b.id, sc.blockedPairs)) return
    a.neighbours.add(b.id)
    b.neighbours.add(a.id)
    a.nextFill = now
    b.nextFill = now
  }

  const handle = (e: { kind: string; client: number; session: number }) => {
    const c = clients[e.client]!
    switch (e.kind) {
      case 'join':
        join(c)
        return
      case 'announce':
        if (e.session !== c.session || c.state === 'gone' || c.state === 'paused') return
        for (const id of tracker.announce(c.id, c.ip, c.site, sc.numwant)) connect(c, clients[id]!)
        queue.push({ at: now + sc.announceIntervalMs, kind: 'announce', client: c.id, session: c.session })
        return
      case 'pause':
        if (e.session !== c.session || c.state !== 'downloading') return
        c.activeMs += now - c.sessionStart
        c.state = 'paused'
        downloading.delete(c.id)
        disconnect(c)
        queue.push({ at: now + c.pauseMs, kind: 'resume', client: c.id, session: c.session })
        return
      case 'resume':
        if (e.session !== c.session || c.state !== 'paused') return
        c.state = 'downloading'
        downloading.add(c.id)
        startSession(c)
        return
      case 'leave':
        if (e.session !== c.session || c.state !== 'seeding') return
        c.state = 'gone'
        disconnect(c)
        c.have = undefined
    }
  }

  const fillPeers = (c: Client) => {
    const ns = [...c.neighbours]
    const before = c.inFrom.size
    for (let i = 0; i < ns.length && c.inFrom.size < sc.peerPieces; i++) {
      const from = clients[ns[(c.rotate + i) % ns.length]!]!
      if (c.inFrom.has(from.id) || !from.have) continue
      const piece = pieceFor(c, from)
      if (piece === undefined) continue
      const { res, lan } = resources(from.id, c.id)
      const f: Flow = { at: flows.length, moved: 0, from: from.id, to: c.id, piece, done: 0, rate: 0, res, lan }
      flows.push(f)
      c.inFrom.set(from.id, f)
      c.fromPeers.add(piece)
      from.out.add(f)
    }
    c.rotate++
    // Nothing to fetch from anyone: look again a little later, or when the neighbours change.
    if (c.inFrom.size === before) c.nextFill = now + sc.decideEveryMs
  }

  const decideCdn = (c: Client) => {
    const window: number[] = []
    const missing = c.missing!
    for (let k = 0; k < c.missingLen && window.length < WINDOW; ) {
      const p = missing[k]!
      if (c.have![p]) {
        missing[k] = missing[--c.missingLen]!
        continue
      }
      window.push(p)
      k++
    }
    const haves: Uint8Array[] = []
    const mates: number[] = []
    let lan = false
    for (const id of c.neighbours) {
      const n = clients[id]!
      if (n.have) haves.push(n.have)
      if (c.site < 0 || n.site !== c.site) continue
      lan = true
      if (n.state === 'downloading') mates.push(n.key)
    }
    for (const p of window) {
      let n = 0
      for (const h of haves) n += h[p]!
      availability[p] = n
    }
    const split = splitDownCap({ caps: { down: c.downCap, cdnDown: null, peerDown: null }, peersConnected: c.neighbours.size, peerRate: c.peerRate })
    cap[PEER_DOWN + c.id] = split.peerDown ?? Infinity
    c.cdnCap = split.cdnDown ?? Infinity
    const mode = sc.mode
    const input: SchedulerInput = {
      now,
      startedAt: c.sessionStart,
      pieceLength: L,
      needed: window,
      piecesLeft: P - c.haveCount,
      availability,
      fromPeers: c.fromPeers,
      fromCdn: new Set(c.cdnQueue),
      bytesDone: (c.haveCount - c.sessionBase) * L,
      peerRate: c.peerRate,
      targetRate: mode.kind === 'target' ? mode.rate : 0,
      cdnBudget: Infinity,
      maxCdnPieces: sc.maxCdnPieces,
      endgamePieces: sc.endgamePieces,
      horizonMs: sc.horizonMs,
      ...(mode.kind === 'finish' ? { finishBound: mode.bound } : {}),
      cdnRate: c.cdnRateSeen,
      // Machines on one LAN share its WAN link to the CDN: with LAN peers, the client is in a group (as in the fetch session).
      ...(lan ? { group: { self: c.key, others: mates } } : {}),
    }
    for (const a of scheduleCdn(input)) {
      cdnPieces[a.reason]++
      c.cdnQueue.push(a.piece)
    }
    for (const p of window) availability[p] = 0
    c.nextDecision = now + sc.decideEveryMs
  }

  const allocate = () => {
    count.fill(0)
    for (const f of flows) for (const r of f.res) count[r]!++
    for (const id of downloading) {
      const c = clients[id]!
      if (c.cdnQueue.length === 0) continue
      count[DOWN + id]! += CDN_CONNECTIONS
      if (c.site >= 0) {
        count[WAN_DOWN + c.site]! += CDN_CONNECTIONS
        count[SITE_TOTAL + c.site]! += CDN_CONNECTIONS
      }
    }
    const cdnShare = (c: Client) => {
      const share = (x: number) => (CDN_CONNECTIONS * cap[x]!) / count[x]!
      let r = Math.min(c.cdnRate, c.cdnCap, share(DOWN + c.id))
      if (c.site >= 0) r = Math.min(r, share(WAN_DOWN + c.site), share(SITE_TOTAL + c.site))
      return r
    }
    used.fill(0)
    const cdnRates = new Map<number, number>()
    for (const f of flows) {
      let r = Infinity
      for (const x of f.res) r = Math.min(r, cap[x]! / count[x]!)
      f.rate = r
      for (const x of f.res) used[x]! += r
    }
    for (const id of downloading) {
      const c = clients[id]!
      if (c.cdnQueue.length === 0) continue
      const r = cdnShare(c)
      cdnRates.set(id, r)
      used[DOWN + id]! += r
      if (c.site >= 0) {
        used[WAN_DOWN + c.site]! += r
        used[SITE_TOTAL + c.site]! += r
      }
    }
    // What the tightest links leave unused goes back to the transfers through the others.
    const room = (x: number) => (used[x]! > 0 ? cap[x]! / used[x]! : Infinity)
    for (const f of flows) {
      let k = Infinity
      for (const x of f.res) k = Math.min(k, room(x))
      f.rate *= Number.isFinite(k) ? k : 1
    }
    for (const [id, r] of cdnRates) {
      const c = clients[id]!
      let k = room(DOWN + id)
      if (c.site >= 0) k = Math.min(k, room(WAN_DOWN + c.site), room(SITE_TOTAL + c.site))
      cdnRates.set(id, Math.min(c.cdnRate, c.cdnCap, r * (Number.isFinite(k) ? k : 1)))
    }
    return cdnRates
  }

  const move = (dtMs: number, cdnRates: Map<number, number>) => {
    const dt = dtMs / 1000
    step++
    // Backwards, so that a flow removed here moves an already moved one into its place; a
    // flow cancelled elsewhere may move one twice into view, which the stamp skips.
    for (let i = flows.length - 1; i >= 0; i--) {
      const f = flows[i]
      if (f === undefined || f.moved === step) continue
      f.moved = step
      const to = clients[f.to]!
      let budget = f.rate * dt
      for (;;) {
        const need = L - f.done
        if (budget < need) {
          f.done += budget
          account(f, budget)
          break
        }
        account(f, need)
        budget -= need
        const piece = f.piece
        f.done = 0
        to.fromPeers.delete(piece)
        complete(to, piece, f)
        if (to.state !== 'downloading' || to.inFrom.get(f.from) !== f) break
        const next = pieceFor(to, clients[f.from]!)
        if (next === undefined) {
          removeFlow(f)
          break
        }
        f.piece = next
        to.fromPeers.add(next)
      }
    }
    for (const [id, rate] of cdnRates) {
      const c = clients[id]!
      let budget = rate * dt
      while (budget > 0 && c.state === 'downloading') {
        // A step may carry more than the pieces in flight: the CDN's loops pull their next pieces as they go.
        if (c.cdnQueue.length === 0) decideCdn(c)
        if (c.cdnQueue.length === 0) break
        const need = L - c.cdnHeadDone
        const got = Math.min(budget, need)
        budget -= got
        // Busy only while bytes flow: the measured rate is the CDN's, not diluted by idle time.
        c.cdnBusyMs += (got / rate) * 1000
        c.cdnHeadDone += got
        c.cdnBytes += got
        cdnBytes += got
        sent += got
        if (c.site >= 0) siteWan[c.site]!.down += got
        if (c.cdnBusyMs > 0) c.cdnRateSeen = Math.max(c.cdnRateSeen, (c.cdnBytes * 1000) / c.cdnBusyMs)
        if (c.cdnHeadDone >= L) {
          const piece = c.cdnQueue.shift()!
          c.cdnHeadDone = 0
          // The CDN's loops pull again once half their pieces are done (one decision per few pieces keeps 10,000 clients fast).
          if (c.cdnQueue.length <= sc.maxCdnPieces / 2) c.nextDecision = now
          complete(c, piece, 'cdn')
        }
      }
    }
  }

  const account = (f: Flow, bytes: number) => {
    sent += bytes
    clients[f.to]!.peerBytesStep += bytes
    if (f.lan) lanBytes += bytes
    else {
      wanBytes += bytes
      const a = clients[f.from]!
      const b = clients[f.to]!
      if (a.site >= 0) siteWan[a.site]!.up += bytes
      if (b.site >= 0) siteWan[b.site]!.down += bytes
    }
  }

  const longest = Math.max(...clients.map((c) => c.joinAt)) + clients.reduce((m, c) => Math.max(m, (sc.releaseBytes / Math.min(c.cdnRate, cap[DOWN + c.id]!)) * 1000 + c.pauseMs), 0)
  const endBy = 20 * longest + 3_600_000
  let lastSample = 0
  let cdnAtSample = 0
  const alpha = 1 - Math.exp(-sc.stepMs / PEER_RATE_WINDOW_MS)
  while (completed < sc.clients && now <= endBy) {
    for (let e = queue.popDue(now); e; e = queue.popDue(now)) handle(e)
    for (const id of downloading) {
      const c = clients[id]!
      if (c.cdnQueue.length < sc.maxCdnPieces && now >= c.nextDecision) decideCdn(c)
      // A finish bound needs the CDN's rate: its probe runs first, alone on the link, as it does while the session's discovery is pending.
      const probing = sc.mode.kind === 'finish' && 'slip' in sc.mode.bound && c.cdnRateSeen === 0 && c.cdnQueue.length > 0
      if (peers && !probing && c.inFrom.size < sc.peerPieces && now >= c.nextFill) fillPeers(c)
    }
    move(sc.stepMs, allocate())
    for (const id of downloading) {
      const c = clients[id]!
      c.peerRate += alpha * ((c.peerBytesStep * 1000) / sc.stepMs - c.peerRate)
      c.peerBytesStep = 0
    }
    now += sc.stepMs
    if (now - lastSample >= sc.sampleMs) {
      timeline.push({ t: now / 1000, cdnRate: ((cdnBytes - cdnAtSample) * 1000) / (now - lastSample), peers: tracker.size, downloading: downloading.size })
      lastSample = now
      cdnAtSample = cdnBytes
    }
  }
  return {
    scenario: sc.name,
    seed: sc.seed,
    clients: sc.clients,
    releaseBytes: P * L,
    pieces: P,
    completed,
    simSeconds: now / 1000,
    cdnBytes,
    peerBytes: { lan: lanBytes, wan: wanBytes },
    wastedBytes: wasted,
    sentBytes: sent,
    usefulBytes: useful,
    doubleCounted,
    cdnPieces,
    completionMs: clients.slice(sc.seeders).map((c) => (c.doneAt === undefined ? undefined : c.activeMs)),
    siteWan,
    timeline,
  }
}

export type { Rng }
