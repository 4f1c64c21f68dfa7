import { readFile, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createSwarmClient } from '../../app/engine/sources/peers/swarm-client.ts'
import { tokenedTrackers } from '../../app/engine/sources/peers/announce-params.ts'
import { startTracker } from '../../app/tracker/tracker-server.ts'
import { installedRelease } from '../support/installed-release.ts'
import { startCli } from '../support/long-running-cli.ts'
import { useTempDirs } from '../support/temp-dir.ts'
import { writeRawPack } from '../support/raw-pack.ts'
import { admitTorrent } from '../support/admitted-torrent.ts'

const tempDir = useTempDirs()
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe('shoal seed', () => {
  it('serves an installed release that a peer finds through the token-protected tracker', async () => {
    const dir = await tempDir()
    const { f, nginx, pub, install, env } = await installedRelease(dir, 6 * 1024 * 1024)
    cleanups.push(() => nginx.stop())

    const token = 'swarm-secret'
    await writeFile(join(dir, 'token'), token)
    const tracker = await startTracker({ port: 0, host: '127.0.0.1', token })
    cleanups.push(() => tracker.close())

    const seeder = startCli(['seed', '--dir', install, '--pubkey', pub, '--tracker', tracker.announceUrl, '--tracker-token-file', join(dir, 'token'), '--site', 'studio-3', '--limit-up', '100MiB'], env)
    cleanups.push(() => seeder.stop())
    const seeding = (await seeder.waitFor('seeding')) as { pieces: number; pieceCount: number }
    expect(seeding.pieces).toBe(seeding.pieceCount)

    const m = await f.readManifest('1.0.0')
    const target = join(dir, 'leeched')
    // A webtorrent leecher with its own store, admitted as a Shoal peer, gets exactly the raw pack.
    const leecher = createSwarmClient({ port: 0, trackerToken: token, limitUp: 0, maxPeers: 10, site: 'studio-3' })
    cleanups.push(() => new Promise((r) => leecher.destroy(() => r(undefined))))
    const torrentFile = await readFile(join(f.cdn, 'game', '1.0.0', 'pack.torrent'))
    const torrent = leecher.add(torrentFile, { path: target, announce: tokenedTrackers([tracker.announceUrl], token) })
    await admitTorrent(leecher, torrent, torrentFile)
    // No addPeer: the only way to the seeder is the tracker.
    await new Promise((r) => (torrent.done ? r(undefined) : torrent.once('done', r)))
    // Both announced their site (the seeder through --site), and the tracker counted them there.
    const metrics = await (await fetch(tracker.announceUrl.replace('/announce', '/metrics'), { headers: { authorization: `Bearer ${token}` } })).text()
    expect(Number(/^shoal_tracker_site_peers\{site="studio-3"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2)
    await writeRawPack(m, install, join(dir, 'expected.pack'))
    expect((await readFile(join(target, m.pack.name))).equals(await readFile(join(dir, 'expected.pack')))).toBe(true)

    const { code, events } = await seeder.stop()
    expect(code).toBe(0)
    const stopped = events.at(-1) as { event: string; uploaded: number }
    expect(stopped.event).toBe('stopped')
    expect(stopped.uploaded).toBeGreaterThanOrEqual(m.totals.uniqueBytes)
  })

  it('listens only on the configured address, and its peer cap counts incoming connections', async () => {
    const dir = await tempDir()
    const { f, nginx, pub, install, env } = await installedRelease(dir, 8 * 1024 * 1024)
    cleanups.push(() => nginx.stop())
    const seeder = startCli(['seed', '--dir', install, '--pubkey', pub, '--listen', '127.0.0.3', '--max-peers', '1', '--limit-up', '4MiB'], env)
    cleanups.push(() => seeder.stop())
    const { port } = (await seeder.waitFor('seeding')) as { port: number }
    const reach = (host: string) =>
      new Promise<boolean>((resolve) => {
        const socket = connect(port, host, () => {
          socket.destroy()
          resolve(true)
        })
        socket.once('error', () => resolve(false))
      })
    expect(await reach('127.0.0.1')).toBe(false)
    expect(await reach('127.0.0.3')).toBe(true)

    const m = await f.readManifest('1.0.0')
    const torrentFile = await readFile(join(f.cdn, 'game', '1.0.0', 'pack.torrent'))
    const leech = async (name: string) => {
      const client = createSwarmClient({ port: 0, trackerToken: undefined, limitUp: 0, maxPeers: 10 })
      cleanups.push(() => new Promise((r) => client.destroy(() => r(undefined))))
      const torrent = client.add(torrentFile, { path: join(dir, name) })
      await admitTorrent(client, torrent, torrentFile)
      await new Promise((r) => torrent.once('ready', r))
      torrent.addPeer(`127.0.0.3:${port}`)
      return torrent
    }
    const first = await leech('first')
    await new Promise((r) => first.once('wire', r))
    const second = await leech('second')
    await new Promise((r) => (first.done ? r(undefined) : first.once('done', r)))
    // While the first peer held the only slot, the second was turned away at the door.
    expect(second.downloaded).toBe(0)
    const { events } = await seeder.stop()
    const stopped = events.at(-1) as { uploaded: number; uploadedByClass: { lan: number; wan: number } }
    // Exactly one copy of the pack went out, to the one peer let in; webtorrent's own
    // `uploaded` total also counts metadata messages.
    expect(stopped.uploadedByClass.lan).toBe(m.pack.length)
    expect(stopped.uploaded).toBeGreaterThanOrEqual(m.pack.length)
    expect(stopped.uploadedByClass.wan).toBe(0)
  })
})
