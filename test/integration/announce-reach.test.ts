// Shoal clients tell the tracker they accept incoming connections (`reach=1`) once a peer has
// dialled them, and say nothing before: a real webtorrent client announcing to a real tracker.
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import type WebTorrent from 'webtorrent'
import { afterEach, describe, expect, it } from 'vitest'
import { createSwarmClient } from '../../app/engine/sources/peers/swarm-client.ts'
import type { SwarmPeer } from '../../app/tracker/matching.ts'
import { MemoryStore } from '../../app/tracker/memory-store.ts'
import { startTracker } from '../../app/tracker/tracker-server.ts'
import { DEFAULT_INTERVAL_MS, DEFAULT_MAX_SWARMS, storeLimits } from '../../app/tracker/tracker-store.ts'
import { useTempDirs } from '../support/temp-dir.ts'

const tempDir = useTempDirs()
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A memory store that also keeps every peer it was told about. */
class RecordingStore extends MemoryStore {
  readonly seen: SwarmPeer[] = []
  override announce(...args: Parameters<MemoryStore['announce']>): ReturnType<MemoryStore['announce']> {
    this.seen.push(args[1])
    return super.announce(...args)
  }
}

async function firstAnnounce(store: RecordingStore, client: WebTorrent, announceUrl: string, dir: string): Promise<SwarmPeer> {
  const before = store.seen.length
  client.add(`magnet:?xt=urn:btih:${randomBytes(20).toString('hex')}&tr=${encodeURIComponent(announceUrl)}`, { path: dir })
  for (let i = 0; i < 100 && store.seen.length === before; i++) await new Promise((r) => setTimeout(r, 20))
  expect(store.seen.length).toBeGreaterThan(before)
  return store.seen[before]!
}

describe('reachability in announces', () => {
  it('is reach=1 after an incoming peer connection, and unsaid before', async () => {
    const store = new RecordingStore(storeLimits(DEFAULT_INTERVAL_MS, DEFAULT_MAX_SWARMS))
    const tracker = await startTracker({ port: 0, host: '127.0.0.1', token: undefined, store })
    cleanups.push(() => tracker.close())
    const client = createSwarmClient({ port: 0, trackerToken: undefined, limitUp: 0, maxPeers: 10, listenHost: '127.0.0.2' })
    cleanups.push(() => new Promise((r) => client.destroy(() => r(undefined))))
    await new Promise((r) => (client.listening ? r(undefined) : client.once('listening', r)))

    expect((await firstAnnounce(store, client, tracker.announceUrl, await tempDir())).reachable).toBeUndefined()
    // A peer dials in (on loopback, where this listener is: the whole world of this test).
    const dialler = connect({ host: '127.0.0.2', port: client.address()!.port, localAddress: '127.0.0.3' })
    cleanups.push(async () => dialler.destroy())
    await new Promise((r) => dialler.once('connect', r))
    await new Promise((r) => setTimeout(r, 50))
    expect((await firstAnnounce(store, client, tracker.announceUrl, await tempDir())).reachable).toBe(true)
  })
})
