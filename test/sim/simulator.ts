// The discrete-event simulator: thousands of clients, each running Shoal's own decisions.
// The CDN's pieces come from the scheduler (app/engine/scheduler/cdn-scheduler.ts), the
// download cap's split from the policy (app/policy/cap-split.ts), and the peers an announce
// returns from the tracker's ranking (sim-tracker.ts); nothing here re-implements them.
//
// Time moves in steps of `stepMs`: events (joins, announces, pauses, departures) fire at
// their times from a queue, then every transfer moves by its rate for one step. Rates are
// shared out over the links they cross (the sender's up link, the receiver's down link and
// its peer share of a capped download, a site's WAN both ways and its LAN's total): each
// transfer gets its fair share of its tightest link, the CDN's connections also what the peers'
// transfers leave of theirs, then what links leave unused is handed back in proportion. A
// transfer that finishes a piece goes on into the next one in the same step, so a coarse step
// does not cost throughput.
//
// As in the engine (routePieces), a client has at most `peerPieces` pieces in flight from
// peers, and every connected peer that holds one of them sends its blocks: one transfer per
// neighbour, many transfers per piece. The blocks are fluid here (a piece completes when its
// bytes are in, whoever sent them); blocks a departed peer had sent stay in the piece.
// When a piece is done, its other senders look for their next piece as each next moves, as
// a wire asks for its next blocks when its own requests are answered; moving every sender at
// once on each piece done moved each one many times within a step, and took most of a run.
import { noCdnPieces, scheduleCdn, type CdnReason, type SchedulerInput } from '../../app/engine/scheduler/cdn-scheduler.ts'
import { groupMembers, memberKey } from '../../app/engine/scheduler/piece-owner.ts'
import { splitDownCap } from '../../app/policy/cap-split.ts'
import { EventQueue } from './event-queue.ts'
import { draw, pairBlocked, seeded, type Rng } from './random.ts'
import type { Scenario } from './scenario.ts'
import { peerIdOf, SimTracker } from './sim-tracker.ts'
import { FRONT_PIECES } from '../../app/engine/sources/peers/peer-settings.ts'

/**
 * Pieces of the client's order the scheduler sees at once (SchedulerInput.piecesLeft): its front,
 * as the fetch session hands it (SchedulerInput.front), so the decision costs O(front).
 */
const WINDOW = FRONT_PIECES
/** Random probes for a piece a peer has and we need, before trying the next peer. */
const PROBES = 48
/** Share of clients that cap their download, and where (a fraction of their link): the cap split decides. */
const CAPPED_SHARE = 0.2
const CAP_FRACTION = 0.5
/** The CDN source's connections (install-job's default): on a shared link it gets that many fair shares. */
const CDN_CONNECTIONS = 4
/** webtorrent's download speed is a moving figure over a few seconds. */
const PEER_RATE_WINDOW_MS = 5000

/** Links one transfer crosses, at most (resources()), plus their count: a transfer's row in `flowLinks`. */
const LINKS = 8

interface Flow {
  /** Its row in the typed arrays, among its receiver's rows. */
  at: number
  readonly from: number
  readonly to: number
}

interface Client {
  readonly id: number
  readonly ip: string
  readonly site: number
  /** memberKey of its peer id, for the scheduler's group (its site's machines, or else its neighbours still downloading). */
  readonly key: number
  readonly cdnRate: number
  readonly downCap: number | null
  readonly joinAt: number
  readonly pauseAfterMs: number | undefined
  readonly pauseMs: number
  readonly seedMs: number
  /** How many pieces it has (which: see `bits` in simulate). */
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
  /** The transfer from each neighbour that sends to it. */
  readonly inFrom: Map<number, Flow>
  readonly out: Set<Flow>
  readonly cdnQueue: number[]
  cdnHeadDone: number
  cdnCap: number
  cdnBytes: number
  cdnBusyMs: number
  /** The CDN's best measured rate so far (the fetch session's estimate): sharing the link with peers only lowers what it measures. */
  cdnRateSeen: number
  peerRate: number
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
  /** Pieces a peer finished that it does not hold (a transfer that missed its piece moving on): must be 0. */
  readonly unheldPieces: number
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
  /** The CDN's connections among `count`. */
  const cdnCount = new Float64Array(cap.length)
  const used = new Float64Array(cap.length)
  for (let s = 0; s < S; s++) {
    cap[WAN_DOWN + s] = sites!.wanDown
    cap[WAN_UP + s] = sites!.wanUp
    cap[SITE_TOTAL + s] = sites!.total
  }

  // The pieces each client has, a bit each, all clients in one array: W words per client.
  // A byte per piece made 10,000 clients' sets 128 MB; one typed array per client cost a
  // second cache miss per read (its header, then its data), and these reads are random.
  const W = Math.ceil(P / 32)
  const bits = new Uint32Array(N * W)
  /** Whether client `id` has piece `p`: 1 or 0. */
  const holds = (id: number, p: number): number => (bits[id * W + (p >>> 5)]! >>> (p & 31)) & 1
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
      cdnQueue: [],
      cdnHeadDone: 0,
      cdnCap: Infinity,
      cdnBytes: 0,
      cdnBusyMs: 0,
      cdnRateSeen: 0,
      peerRate: 0,
      nextDecision: 0,
      nextFill: 0,
      rotate: 0,
    })
    queue.push({ at: joinAt, kind: 'join', client: id, session: 0 })
  }

  let now = 0
  let cdnBytes = 0
  let lanBytes = 0
  let wanBytes = 0
  let wasted = 0
  let sent = 0
  let useful = 0
  let doubleCounted = 0
  let unheldPieces = 0
  let completed = 0
  const cdnPieces = noCdnPieces()
  const siteWan = Array.from({ length: S }, () => ({ down: 0, up: 0 }))
  /** Bytes from peers each client got in this step. */
  const peerBytesStep = new Float64Array(N)
  // A client's pieces in flight from peers, `peerPieces` places each: the piece (-1: free place) and the bytes it still needs.
  const K = sc.peerPieces
  const slotPiece = new Int32Array(N * K).fill(-1)
  const slotLeft = new Float64Array(N * K)
  const slotOf = (c: Client, piece: number): number => {
    for (let x = c.id * K; x < c.id * K + K; x++) if (slotPiece[x] === piece) return x
    return -1
  }
  const piecesInFlight = (c: Client): number[] => {
    const out: number[] = []
    for (let x = c.id * K; x < c.id * K + K; x++) if (slotPiece[x]! >= 0) out.push(slotPiece[x]!)
    return out
  }
  /** Drops a piece in flight from peers: the bytes it had are lost. */
  const dropSlot = (x: number) => {
    wasted += L - slotLeft[x]!
    slotPiece[x] = -1
  }

  // Each transfer's row in typed arrays, a block of `maxPeers` rows per receiver: every step
  // walks them receiver by receiver, so the receiver's state stays in the caches (100,000
  // objects with their arrays, and then rows in no order, made the move the slow part).
  const M = sc.maxPeers
  const rowFlow: (Flow | undefined)[] = new Array(N * M)
  /** Transfers to each client: its rows are c * M up to c * M + inCount[c]. */
  const inCount = new Int32Array(N)
  const flowLinks = new Int32Array(N * M * LINKS)
  const flowRate = new Float64Array(N * M)
  /** The receiver's place (slot) of the piece it brings. */
  const flowSlot = new Int32Array(N * M)
  /** The piece it brings: when its place has moved on to another piece, the transfer finds a new one as it next moves. */
  const flowPiece = new Int32Array(N * M)
  const flowFrom = new Int32Array(N * M)
  /** 0: inside a site's LAN; 1: across the internet; 2: across the internet from or to a site (its WAN counts). */
  const flowPath = new Uint8Array(N * M)
  const addFlow = (from: number, to: number, slot: number): Flow => {
    const { res, lan } = resources(from, to)
    const at = to * M + inCount[to]!++
    flowLinks[at * LINKS] = res.length
    flowLinks.set(res, at * LINKS + 1)
    flowRate[at] = 0
    flowSlot[at] = slot
    flowPiece[at] = slotPiece[slot]!
    flowFrom[at] = from
    flowPath[at] = lan ? 0 : clients[from]!.site >= 0 || clients[to]!.site >= 0 ? 2 : 1
    const f: Flow = { at, from, to }
    rowFlow[at] = f
    return f
  }
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
      bits.fill(0xffffffff, c.id * W, c.id * W + W)
      c.haveCount = P
      c.state = 'seeding'
      startSession(c)
      return
    }
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

  /** Removes a transfer; the receiver's last row takes its place. */
  const removeFlow = (f: Flow) => {
    const last = f.to * M + --inCount[f.to]!
    if (last !== f.at) {
      const g = rowFlow[last]!
      rowFlow[f.at] = g
      flowLinks.copyWithin(f.at * LINKS, last * LINKS, last * LINKS + LINKS)
      flowRate[f.at] = flowRate[last]!
      flowSlot[f.at] = flowSlot[last]!
      flowPiece[f.at] = flowPiece[last]!
      flowFrom[f.at] = flowFrom[last]!
      flowPath[f.at] = flowPath[last]!
      g.at = f.at
    }
    rowFlow[last] = undefined
    clients[f.to]!.inFrom.delete(f.from)
    clients[f.from]!.out.delete(f)
  }

  /** Leaves the swarm: connections close, transfers to and from it are lost. */
  const disconnect = (c: Client) => {
    tracker.leave(c.id, c.site)
    for (const n of c.neighbours) clients[n]!.neighbours.delete(c.id)
    c.neighbours.clear()
    for (const f of [...c.out, ...c.inFrom.values()]) removeFlow(f)
    for (let x = c.id * K; x < c.id * K + K; x++) if (slotPiece[x]! >= 0) dropSlot(x)
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

  /** The place of a piece in flight that `from` has, else of a new one it has that `to` needs, while a place is free; -1: none. */
  const slotFor = (to: Client, from: Client): number => {
    const self = to.id
    const them = from.id
    // A sender that holds every piece (a seeder, a finished client) needs no read of its bitset.
    const all = from.haveCount === P
    let free = -1
    for (let x = to.id * K; x < to.id * K + K; x++) {
      const p = slotPiece[x]!
      if (p < 0) free = x
      else if (all || holds(them, p)) return x
    }
    if (free < 0) return -1
    const missing = to.missing!
    const exhaustive = to.missingLen <= PROBES * 4
    const tries = exhaustive ? to.missingLen : PROBES
    // The probes read a run of the (shuffled) order from a random place: random pieces, few cache lines.
    const start = exhaustive ? 0 : Math.floor(rng() * to.missingLen)
    for (let t = 0; t < tries && to.missingLen > 0; t++) {
      const k = exhaustive ? t : (start + t) % to.missingLen
      if (k >= to.missingLen) break
      const p = missing[k]!
      if (holds(self, p)) {
        missing[k] = missing[--to.missingLen]!
        if (exhaustive) t--
        continue
      }
      if ((all || holds(them, p)) && slotOf(to, p) < 0 && !to.cdnQueue.includes(p)) {
        slotPiece[free] = p
        slotLeft[free] = L
        return free
      }
    }
    return -1
  }

  const complete = (c: Client, piece: number, source: 'cdn' | 'peers') => {
    if (holds(c.id, piece)) {
      doubleCounted++
      return
    }
    bits[c.id * W + (piece >>> 5)]! |= 1 << (piece & 31)
    c.haveCount++
    useful += L
    // The place is free; the peers that were bringing this piece go on to another as they
    // next move (see move). If the CDN brought it, what they sent is lost.
    const x = slotOf(c, piece)
    if (x >= 0) {
      if (source === 'cdn') dropSlot(x)
      else slotPiece[x] = -1
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
    for (const f of [...c.inFrom.values()]) removeFlow(f)
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
    }
  }

  const fillPeers = (c: Client) => {
    const ns = [...c.neighbours]
    const before = c.inFrom.size
    for (let i = 0; i < ns.length; i++) {
      const from = clients[ns[(c.rotate + i) % ns.length]!]!
      if (c.inFrom.has(from.id)) continue
      const slot = slotFor(c, from)
      if (slot < 0) continue
      const f = addFlow(from.id, c.id, slot)
      c.inFrom.set(from.id, f)
      from.out.add(f)
    }
    c.rotate++
    if (c.inFrom.size > before) return
    // Nothing to fetch from anyone: look again a little later, or when the neighbours change.
    c.nextFill = now + sc.decideEveryMs
    // A piece in flight that no neighbour has any more (its senders left) frees its place: its bytes are lost.
    for (let x = c.id * K; x < c.id * K + K; x++) {
      const p = slotPiece[x]!
      if (p < 0) continue
      let held = false
      for (const n of c.neighbours) if (holds(n, p)) held = true
      if (!held) dropSlot(x)
    }
  }

  const decideCdn = (c: Client) => {
    const window: number[] = []
    const missing = c.missing!
    for (let k = 0; k < c.missingLen && window.length < WINDOW; ) {
      const p = missing[k]!
      if (holds(c.id, p)) {
        missing[k] = missing[--c.missingLen]!
        continue
      }
      window.push(p)
      k++
    }
    const partial: number[] = []
    const candidates: { peer: Client; lan: boolean }[] = []
    // Neighbours that hold every piece count for each without a read of their bitsets.
    let holdAll = 0
    for (const id of c.neighbours) {
      const n = clients[id]!
      if (n.haveCount === P) holdAll++
      else partial.push(id)
      candidates.push({ peer: n, lan: c.site >= 0 && n.site === c.site })
    }
    // The group, as the fetch session makes it (every simulated client is Shoal and makes progress while downloading).
    const { members, sharedLink } = groupMembers(candidates)
    const mates = members.filter((n) => n.state === 'downloading').map((n) => n.key)
    for (const p of window) {
      let n = holdAll
      for (const id of partial) n += holds(id, p)
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
      fromPeers: new Set(piecesInFlight(c)),
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
      ...(Number.isFinite(c.cdnCap) ? { cdnRoom: c.cdnCap } : {}),
      group: { self: c.key, others: mates, sharedLink },
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
    cdnCount.fill(0)
    for (const id of downloading) {
      for (let i = id * M; i < id * M + inCount[id]!; i++) {
        const row = i * LINKS
        for (let j = 1; j <= flowLinks[row]!; j++) count[flowLinks[row + j]!]!++
      }
      const c = clients[id]!
      if (c.cdnQueue.length === 0) continue
      count[DOWN + id]! += CDN_CONNECTIONS
      cdnCount[DOWN + id]! += CDN_CONNECTIONS
      if (c.site >= 0) {
        count[WAN_DOWN + c.site]! += CDN_CONNECTIONS
        count[SITE_TOTAL + c.site]! += CDN_CONNECTIONS
        cdnCount[WAN_DOWN + c.site]! += CDN_CONNECTIONS
        cdnCount[SITE_TOTAL + c.site]! += CDN_CONNECTIONS
      }
    }
    used.fill(0)
    for (const id of downloading) {
      for (let i = id * M; i < id * M + inCount[id]!; i++) {
        const row = i * LINKS
        const links = flowLinks[row]!
        let r = Infinity
        for (let j = 1; j <= links; j++) {
          const x = flowLinks[row + j]!
          r = Math.min(r, cap[x]! / count[x]!)
        }
        flowRate[i] = r
        for (let j = 1; j <= links; j++) used[flowLinks[row + j]!]! += r
      }
    }
    // The CDN's connections get their fair share of a link, or what the peers' transfers leave of
    // it when those are held back at their senders' links (TCP's max-min share): with the fair
    // share alone, a client's 4 CDN connections beside 40 slow peers got a tenth of its link.
    const cdnShare = (x: number) => Math.max((CDN_CONNECTIONS * cap[x]!) / count[x]!, (Math.max(0, cap[x]! - used[x]!) * CDN_CONNECTIONS) / cdnCount[x]!)
    const cdnRates = new Map<number, number>()
    for (const id of downloading) {
      const c = clients[id]!
      if (c.cdnQueue.length === 0) continue
      let r = Math.min(c.cdnRate, c.cdnCap, cdnShare(DOWN + id))
      if (c.site >= 0) r = Math.min(r, cdnShare(WAN_DOWN + c.site), cdnShare(SITE_TOTAL + c.site))
      cdnRates.set(id, r)
    }
    for (const [id, r] of cdnRates) {
      const c = clients[id]!
      used[DOWN + id]! += r
      if (c.site >= 0) {
        used[WAN_DOWN + c.site]! += r
        used[SITE_TOTAL + c.site]! += r
      }
    }
    // What the tightest links leave unused goes back to the transfers through the others.
    const room = (x: number) => (used[x]! > 0 ? cap[x]! / used[x]! : Infinity)
    for (const id of downloading) {
      for (let i = id * M; i < id * M + inCount[id]!; i++) {
        const row = i * LINKS
        let k = Infinity
        for (let j = 1; j <= flowLinks[row]!; j++) k = Math.min(k, room(flowLinks[row + j]!))
        if (Number.isFinite(k)) flowRate[i]! *= k
      }
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
    for (const id of downloading) {
      const to = clients[id]!
      // Backwards, so that a transfer removed here moves an already moved one into its row.
      for (let i = id * M + inCount[id]! - 1; i >= id * M && to.state === 'downloading'; i--) {
        let budget = flowRate[i]! * dt
        const x = flowSlot[i]!
        // Most transfers only add to a piece: typed arrays alone.
        if (slotPiece[x] === flowPiece[i] && slotPiece[x]! >= 0 && budget < slotLeft[x]!) {
          slotLeft[x]! -= budget
          account(i, id, budget)
          continue
        }
        const from = clients[flowFrom[i]!]!
        for (;;) {
          const slot = flowSlot[i]!
          const need = slotLeft[slot]!
          let piece = slotPiece[slot]!
          // Its piece is done and the place holds another: it looks again (see complete).
          if (piece >= 0 && piece !== flowPiece[i]) piece = -1
          if (piece >= 0 && budget < need) {
            slotLeft[slot] = need - budget
            account(i, id, budget)
            break
          }
          if (piece >= 0) {
            account(i, id, need)
            budget -= need
            unheldPieces += 1 - holds(flowFrom[i]!, piece)
            complete(to, piece, 'peers')
            // Its last piece: finish removed every transfer to it.
            if (to.state !== 'downloading') break
          }
          const next = slotFor(to, from)
          if (next < 0) {
            removeFlow(rowFlow[i]!)
            break
          }
          flowSlot[i] = next
          flowPiece[i] = slotPiece[next]!
        }
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

  /** Counts bytes a transfer (by its row) brought to client `to`. */
  const account = (row: number, to: number, bytes: number) => {
    sent += bytes
    peerBytesStep[to]! += bytes
    const path = flowPath[row]!
    if (path === 0) lanBytes += bytes
    else {
      wanBytes += bytes
      if (path === 1) return
      const a = clients[flowFrom[row]!]!
      const b = clients[to]!
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
      if (peers && !probing && c.inFrom.size < c.neighbours.size && now >= c.nextFill) fillPeers(c)
    }
    move(sc.stepMs, allocate())
    for (const id of downloading) {
      const c = clients[id]!
      c.peerRate += alpha * ((peerBytesStep[id]! * 1000) / sc.stepMs - c.peerRate)
      peerBytesStep[id] = 0
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
    unheldPieces,
    cdnPieces,
    completionMs: clients.slice(sc.seeders).map((c) => (c.doneAt === undefined ? undefined : c.activeMs)),
    siteWan,
    timeline,
  }
}

export type { Rng }
