// The hybrid data path end to end, with real processes: the CDN and a peer completing the same
// piece, a kill -9 in the middle of a swarm download, and a seeder's memory under 50 peers.
import { spawn, type ChildProcess } from 'node:child_process'
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import type { Socket } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { packGeometry } from '../../app/engine/storage/pack-geometry.ts'
import type { Manifest } from '../../shared/release-schema.ts'
import { startFaultServer } from '../support/fault-server.ts'
import { seededRelease, type Bytes, type Written } from '../support/installed-release.ts'
import { startNginx } from '../support/nginx.ts'
import { makeFixture } from '../support/release-fixture.ts'
import { attemptAdmission } from '../support/admission-client.ts'
import { testAdmissionKey } from '../support/admission-key.ts'
import { issuePass } from '../../app/release/admission.ts'
import { runCli } from '../support/run-cli.ts'
import { useTempDirs } from '../support/temp-dir.ts'
import { treeHash } from '../support/tree-hash.ts'

const MiB = 1024 * 1024
const CLI = fileURLToPath(new URL('../../app/cli/shoal.ts', import.meta.url))
const BIN = fileURLToPath(new URL('../../bin/shoal', import.meta.url))

const tempDir = useTempDirs()
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})



/** Where each chunk's stored bytes sit: its store's URL path on the CDN and its offset there. */
function storePlaces(m: Manifest): { path: string; offset: number }[] {
  const out: { path: string; offset: number }[] = []
  for (const s of m.pack.sections) {
    let at = 0
    for (let c = s.firstChunk; c < s.firstChunk + s.chunkCount; c++) {
      out[c] = { path: `/${m.product}/${s.store.path}`, offset: at }
      at += m.chunks.stored[c]!
    }
  }
  return out
}

describe('the hybrid path', () => {
  it('peers and the CDN deliver parts of the same piece', async () => {
    const dir = await tempDir()
    // 256 KiB pieces (the fixture's), ~16 KiB chunks: about 15 chunks per piece.
    const { f, pub, port } = await seededRelease(dir, 16 * MiB, ['--limit-up', '4MiB'], cleanups)
    // How the test forces a shared piece. `--target-rate` above the seeder's cap puts the CDN to
    // work beside the peer (behind-target pieces), one piece per range. Under `--limit-down 4MiB`
    // the CDN asks for each range in 128 KiB steps (1/32 s of the cap), one connection, back to
    // back. After 256 KiB of the pack, the fault server fails the second step of a range with a
    // 404, and every store request after it: the CDN keeps the chunks of the first step (a
    // range cut short still places its whole chunks), the mirror is dropped, and the CDN's
    // unfinished pieces go back to the peer, which sends them whole. The peer's piece then only
    // writes the slices of chunks not placed yet.
    const cdn = await startFaultServer(f.cdn, 'fail-mid-range', { failAfterBytes: 256 * 1024 })
    cleanups.push(() => cdn.close())

    const run = await runCli(['get', `${cdn.url}/game/channels/stable.json`, '--pubkey', pub, '--dir', join(dir, 'b'), '--peer', `127.0.0.1:${port}`, '--target-rate', '64MiB', '--limit-down', '4MiB', '--connections', '1', '--json'], { SHOAL_DATA_DIR: join(dir, 'data-b') })
    // README: when the CDN fails, its pieces go back to the peers, and the job fails only when the
    // peers stall too. The seeder here never stops.
    expect(run.code, run.stderr).toBe(0)
    const written = run.last['written'] as Written
    const total = run.last['totalBytes'] as number
    expect(cdn.failedAt(), 'the CDN never reached its failure point').toBeDefined()
    expect(written.cdn).toBeGreaterThan(0)
    expect(written.lan).toBeGreaterThan(0)
    expect(written.wan).toBe(0)
    expect(written.cdn + written.lan + written.local).toBe(total)
    expect(await treeHash(join(dir, 'b'))).toEqual(await treeHash(f.build))

    // Which chunks the CDN delivered: those whose stored bytes the fault server sent, in
    // responses sent whole (the steps of a range join up). The engine placed exactly those
    // (written.cdn counts each chunk at every place the release uses it), and the peer the rest.
    const m = await f.readManifest('1.0.0')
    const places = storePlaces(m)
    const sent: { path: string; start: number; end: number }[] = []
    for (const s of [...cdn.served].sort((a, b) => a.path.localeCompare(b.path) || a.start - b.start)) {
      const last = sent.at(-1)
      if (last && last.path === s.path && s.start <= last.end) last.end = Math.max(last.end, s.end)
      else sent.push({ ...s })
    }
    const fromCdn = new Set<number>()
    places.forEach((p, c) => {
      const end = p.offset + m.chunks.stored[c]!
      if (sent.some((s) => s.path === p.path && s.start <= p.offset && end <= s.end)) fromCdn.add(c)
    })
    const uses = new Map<number, number>()
    for (const file of m.files) for (const c of file.chunks) uses.set(c, (uses.get(c) ?? 0) + 1)
    expect(written.cdn).toBe([...fromCdn].reduce((n, c) => n + m.chunks.size[c]! * (uses.get(c) ?? 0), 0))

    // A shared piece: a chunk lying wholly inside it came from the CDN and another from the peer.
    // (Chunks straddling two pieces would share pieces by themselves; they are left out.)
    const geometry = packGeometry(m)
    const shared: number[] = []
    for (let p = 0; p < geometry.pieceCount; p++) {
      const inside = geometry.segments(p).flatMap((s) => (s.kind === 'chunk' && s.offset === 0 && s.length === m.chunks.size[s.chunk] ? [s.chunk] : []))
      if (inside.some((c) => fromCdn.has(c)) && inside.some((c) => !fromCdn.has(c))) shared.push(p)
    }
    // The piece the failed step fell in is one of them.
    const failedAt = cdn.failedAt()!
    const cut = places.findIndex((p, c) => p.offset <= failedAt.start && failedAt.start < p.offset + m.chunks.stored[c]!)
    const cutPiece = Math.floor(geometry.chunkOffsets[cut]! / m.pack.pieceLength)
    console.log(`shared pieces ${JSON.stringify(shared)} (cut in piece ${cutPiece}); written cdn ${written.cdn}, lan ${written.lan} of ${total}; bytes ${JSON.stringify(run.last['bytes'])}; cdnPieces ${JSON.stringify(run.last['cdnPieces'])}`)
    expect(shared).toContain(cutPiece)
  })

  it('a kill -9 during a swarm download resumes', async () => {
    const dir = await tempDir()
    const { f, pub, channel, port } = await seededRelease(dir, 32 * MiB, ['--limit-up', '8MiB'], cleanups)
    const install = join(dir, 'b')
    // Offload only: on loopback the CDN outruns the capped seeder, and the finish bound would use it.
    const args = ['get', channel, '--pubkey', pub, '--dir', install, '--peer', `127.0.0.1:${port}`, '--finish-slip', 'off', '--json']
    const env = { ...process.env, SHOAL_DATA_DIR: join(dir, 'data-b') }
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'ignore'] })
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    const exited = new Promise((r) => child.once('exit', r))
    // Kill on progress, not on a clock: once 70 % is placed, peer bytes among it. Checkpoints come
    // every second (8 MiB from the capped seeder), so over 40 % of the release is recorded.
    type Progress = { event: string; done: number; total: number; bytes?: Bytes }
    let atKill: Progress | undefined
    await new Promise<void>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        const lines = out.split('\n')
        out = lines.pop()!
        for (const line of lines.filter((l) => l.startsWith('{'))) {
          const e = JSON.parse(line) as Progress
          if (e.event === 'progress' && e.bytes && e.bytes.lan > 0 && e.done >= e.total * 0.7) {
            atKill ??= e
            resolve()
          }
        }
      })
      void exited.then(() => reject(new Error('shoal get ended before it was killed')))
    })
    child.kill('SIGKILL')
    await exited
    await expect(readdir(install)).rejects.toThrow()

    const rerun = await runCli(args, { SHOAL_DATA_DIR: join(dir, 'data-b') })
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(rerun.last).toMatchObject({ event: 'done', resumed: true })
    expect(await treeHash(install)).toEqual(await treeHash(f.build))
    const bytes = rerun.last['bytes'] as Bytes
    const total = rerun.last['totalBytes'] as number
    // Everything received in the rerun, waste included (whole pieces of which some chunks were placed).
    const received = bytes.cdn + bytes.lan + bytes.wan + bytes.wasted
    console.log(`killed at ${atKill!.done} of ${atKill!.total} (lan ${atKill!.bytes!.lan}); rerun received ${received} (lan ${bytes.lan}, cdn ${bytes.cdn}, wasted ${bytes.wasted}) of ${total}`)
    expect(bytes.lan).toBeGreaterThan(0)
    expect(received).toBeLessThan(total)
  })

  it('a seeder under 50 connected peers stays within its memory bound', { timeout: 90_000 }, async () => {
    const dir = await tempDir()
    // 4 MiB pieces, the default: what a seeder reads and checks per piece.
    const f = await makeFixture(dir, 32 * MiB)
    const published = await f.publish(f.build, '1.0.0', ['--piece-size', '4MiB'])
    expect(published.code, published.stderr).toBe(0)
    const nginx = await startNginx(f.cdn, join(dir, 'nginx'))
    cleanups.push(() => nginx.stop())
    const pub = join(f.keyDir, 'publisher.pub')
    const install = join(dir, 'install')
    const data = join(dir, 'data')
    const got = await runCli(['get', `${nginx.url}/game/channels/stable.json`, '--pubkey', pub, '--dir', install], { SHOAL_DATA_DIR: data })
    expect(got.code, got.stderr).toBe(0)
    const m = await f.readManifest('1.0.0')
    expect(m.pack.pieceLength).toBe(4 * MiB)

    // The seeder as users run it: bin/shoal (which execs node with its memory settings), with
    // its own compile cache, warmed first so that every measured run starts alike.
    const seederEnv = { SHOAL_DATA_DIR: data, XDG_CACHE_HOME: join(dir, 'cache'), PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` }
    const seed = () => startSeeder(['seed', '--dir', install, '--pubkey', pub, '--json'], seederEnv)
    const warm = seed()
    await warm.seeding
    await warm.stop()

    const measure = async (peers: number, quota: number) => {
      const seeder = seed()
      const { port } = await seeder.seeding
      // bin/shoal exec'd node: the pid is the seeder's own process, not a shell.
      expect(await readFile(`/proc/${seeder.pid}/cmdline`, 'utf8')).toContain('app/cli/shoal.ts')
      const load = await loadSeeder({ port, m, peers, quota, deadlineMs: 20_000 })
      const hwm = vmHwm(await readFile(`/proc/${seeder.pid}/status`, 'utf8'))
      const stats = await seeder.waitFor('stats')
      const stopped = await seeder.stop()
      return { load, hwm, stats, stopped, stderr: seeder.stderr() }
    }
    const one = await measure(1, m.pack.length)
    const fifty = await measure(50, 4 * MiB)

    const mb = (n: number) => (n / 1e6).toFixed(1)
    console.log(`seeder peak (VmHWM): 1 peer ${mb(one.hwm)} MB after ${mb(one.load.received)} MB sent; 50 peers ${mb(fifty.hwm)} MB after ${mb(fifty.load.received)} MB sent (least per peer ${mb(Math.min(...fifty.load.perPeer))} MB, ${fifty.load.servedAtOnce} served at once); stopped.peakRssBytes ${mb(one.stopped['peakRssBytes'] as number)} / ${mb(fifty.stopped['peakRssBytes'] as number)} MB`)
    // The load was real: one peer took the whole pack; each of the 50 took at least a piece's
    // worth, and all 50 were still unchoked and downloading when the last one got there.
    expect(one.load.received).toBeGreaterThanOrEqual(m.pack.length)
    expect(fifty.load.perPeer.every((n) => n >= 4 * MiB)).toBe(true)
    expect(fifty.load.servedAtOnce).toBe(50)
    // A wire holding requests listens for the torrent's uploads: 50 of them are no leak to warn of.
    expect(fifty.stderr).not.toMatch(/MaxListenersExceeded/)
    // The seeder reports its own peak: in its stats lines, and on stopping, where it is what /proc
    // showed after the load or more (a high-water mark only rises; the kernel's RSS counters are
    // approximate, hence the slack).
    for (const run of [one, fifty]) {
      expect(run.stats['peakRssBytes']).toEqual(expect.any(Number))
      expect(run.stopped['peakRssBytes'] as number).toBeGreaterThan(run.hwm - 4 * MiB)
    }
    // The bound: 50 peers cost less than 160 MB over one (measured 100-125 MB; 430-460 MB before
    // the seeder bounded what it answers ahead per peer), and stay under 400 MB in all.
    expect(fifty.hwm - one.hwm).toBeLessThan(160e6)
    expect(fifty.hwm).toBeLessThan(400e6)
  })
})

function vmHwm(status: string): number {
  const kib = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]
  if (!kib) throw new Error('no VmHWM in /proc/PID/status')
  return Number(kib) * 1024
}

interface Seeder {
  readonly pid: number
  readonly seeding: Promise<{ port: number }>
  waitFor(event: string): Promise<Record<string, unknown>>
  /** SIGTERM; resolves with the `stopped` line. */
  stop(): Promise<Record<string, unknown>>
  /** What it wrote to stderr so far (also passed on to the test's). */
  stderr(): string
}

/** `bin/shoal ARGS` as a child process whose pid is the seeder's node process. */
function startSeeder(args: readonly string[], env: NodeJS.ProcessEnv): Seeder {
  const child: ChildProcess = spawn(BIN, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
    process.stderr.write(d)
  })
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  const events: Record<string, unknown>[] = []
  const waiters: (() => void)[] = []
  let out = ''
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString()
    const lines = out.split('\n')
    out = lines.pop()!
    for (const line of lines) if (line.startsWith('{')) events.push(JSON.parse(line) as Record<string, unknown>)
    for (const w of waiters.splice(0)) w()
  })
  const waitFor = (event: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = events.find((e) => e['event'] === event)
        if (found) resolve(found)
        else waiters.push(check)
      }
      check()
      void exited.then(() => reject(new Error(`shoal ${args[0]} exited before "${event}"`)))
    })
  return {
    pid: child.pid!,
    seeding: waitFor('seeding') as Promise<{ port: number }>,
    waitFor,
    stop: async () => {
      child.kill('SIGTERM')
      await exited
      expect(child.exitCode).toBe(0)
      return waitFor('stopped')
    },
    stderr: () => stderr,
  }
}

interface Load {
  /** Block bytes received from the seeder, by every peer. */
  readonly received: number
  readonly perPeer: number[]
  /** Peers still unchoked and downloading when every peer had its quota: all of them, unless some were choked or dropped. */
  readonly servedAtOnce: number
}

/**
 * The test's peers ask the way Shoal's own leechers do (swarm-fetch.ts, webtorrent-adapter.ts):
 * with a Shoal peer id, so 128 KiB per request, and up to 8 MiB requested and not yet received
 * per wire. A stock webtorrent leecher's pipeline grows with its rate to about as much.
 */
const PEER_ID_PREFIX = '-SL0100-'
const REQUEST_BYTES = 128 * 1024
const IN_FLIGHT_BYTES = 8 * MiB

/**
 * `peers` plain BitTorrent connections to the seeder on 127.0.0.1 (handshake without extensions,
 * interested, then block requests, IN_FLIGHT_BYTES at a time), each starting at its own place in
 * the pack so the seeder reads many pieces at once. Every peer keeps downloading until each has
 * received `quota` bytes, so all of them are being served at the end; bounded by `deadlineMs`.
 */
async function loadSeeder(o: { port: number; m: Manifest; peers: number; quota: number; deadlineMs: number }): Promise<Load> {
  const { pieceLength, length } = o.m.pack
  const pieceCount = Math.ceil(length / pieceLength)
  const infoHash = Buffer.from(o.m.pack.infoHash, 'hex')
  const perPeer = new Array<number>(o.peers).fill(0)
  const unchoked = new Array<boolean>(o.peers).fill(false)
  const sockets: Socket[] = []
  let servedAtOnce = 0
  let reached!: () => void
  const allReached = new Promise<void>((r) => (reached = r))
  const everyoneHasQuota = () => perPeer.every((n) => n >= o.quota)
  /** Blocks from `firstPiece` on, round the pack as often as needed. */
  const blocksFrom = function* (firstPiece: number) {
    for (let k = 0; ; k++) {
      const piece = (firstPiece + k) % pieceCount
      const size = Math.min(pieceLength, length - piece * pieceLength)
      for (let begin = 0; begin < size; begin += REQUEST_BYTES) yield [piece, begin, Math.min(REQUEST_BYTES, size - begin)] as const
    }
  }
  const peer = async (i: number) => {
    // Each load peer is admitted as any Shoal peer is: TLS, and a pass of its own.
    const key = generateKeyPairSync('ed25519').privateKey
    const pass = issuePass(createPrivateKey(readFileSync(testAdmissionKey().key)), { swarm: o.m.pack.infoHash, holder: key, seconds: 3600, nowMs: Date.now() })
    const { socket, admitted } = await attemptAdmission({ port: o.port, swarm: o.m.pack.infoHash, pass, proofKey: key })
    if (!admitted) throw new Error('the seeder refused a load peer with a valid pass')
    sockets.push(socket)
    const blocks = blocksFrom(Math.floor((i * pieceCount) / o.peers))
    let inflight = 0
    let shaken = false
    let buf: Buffer = Buffer.alloc(0)
    const ask = () => {
      while (inflight + REQUEST_BYTES <= IN_FLIGHT_BYTES && unchoked[i] && !everyoneHasQuota()) {
        const [piece, begin, len] = blocks.next().value!
        const msg = Buffer.alloc(17)
        msg.writeUInt32BE(13, 0)
        msg.writeUInt8(6, 4)
        msg.writeUInt32BE(piece, 5)
        msg.writeUInt32BE(begin, 9)
        msg.writeUInt32BE(len, 13)
        socket.write(msg)
        inflight += len
      }
    }
    // pstrlen, pstr, 8 reserved bytes (no extensions), info hash, peer id.
    socket.write(Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), infoHash, Buffer.from(PEER_ID_PREFIX), randomBytes(12)]))
    socket.on('data', (d: Buffer) => {
      buf = buf.length > 0 ? Buffer.concat([buf, d]) : d
      if (!shaken) {
        if (buf.length < 68) return
        shaken = true
        buf = buf.subarray(68)
      }
      while (buf.length >= 4) {
        const len = buf.readUInt32BE(0)
        if (buf.length < 4 + len) break
        const id = len > 0 ? buf[4] : undefined
        // Interested once the seeder said what it has: it has taken the wire in by then.
        if (id === 5) socket.write(Buffer.from([0, 0, 0, 1, 2]))
        else if (id === 1) {
          unchoked[i] = true
          ask()
        } else if (id === 0) {
          // Choked: the seeder drops what was asked.
          unchoked[i] = false
          inflight = 0
        } else if (id === 7) {
          perPeer[i] = perPeer[i]! + len - 9
          inflight -= len - 9
          if (everyoneHasQuota() && servedAtOnce === 0) {
            servedAtOnce = unchoked.filter(Boolean).length
            reached()
          }
          ask()
        }
        buf = buf.subarray(4 + len)
      }
    })
    const gone = () => {
      unchoked[i] = false
    }
    socket.on('error', gone)
    socket.on('close', gone)
    socket.resume()
  }
  await Promise.all(Array.from({ length: o.peers }, (_, i) => peer(i)))
  let timer: NodeJS.Timeout | undefined
  await Promise.race([allReached, new Promise<void>((r) => (timer = setTimeout(r, o.deadlineMs)))])
  clearTimeout(timer)
  for (const s of sockets) s.destroy()
  return { received: perPeer.reduce((a, b) => a + b, 0), perPeer, servedAtOnce }
}
