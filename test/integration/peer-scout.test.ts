// A swarm job starts with a scout: it announces to the release's tracker and listens for peers
// without loading webtorrent, which loads only once a peer is known or dials in.
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import bencode from 'bencode'
import parseTorrent from 'parse-torrent'
import { afterEach, describe, expect, it } from 'vitest'
import { startNginx } from '../support/nginx.ts'
import { makeFixture } from '../support/release-fixture.ts'
import { runCli } from '../support/run-cli.ts'
import { startCli } from '../support/long-running-cli.ts'
import { loadedModules, moduleLogEnv } from '../support/module-log.ts'
import { useTempDirs } from '../support/temp-dir.ts'
import { treeHash } from '../support/tree-hash.ts'
import type { Bytes, Written } from '../support/installed-release.ts'

const tempDir = useTempDirs()
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const WEBTORRENT = /\/node_modules\/webtorrent\//

/** A release published with a running Shoal tracker (scope lan: peer passes from the tracker), served by nginx; `token` is what clients pass. */
async function trackedRelease(dir: string, bytes: number) {
  // With a token: the tracker then answers scrapes, and every client must send it.
  const tokenFile = join(dir, 'token')
  await writeFile(tokenFile, 'scout-token')
  const tracker = startCli(['tracker', '--port', '0', '--token-file', tokenFile])
  cleanups.push(() => tracker.stop())
  const { announce } = (await tracker.waitFor('listening')) as { announce: string }
  const f = await makeFixture(dir, bytes)
  const published = await f.publish(f.build, '1.0.0', ['--tracker', announce])
  expect(published.code, published.stderr).toBe(0)
  const nginx = await startNginx(f.cdn, join(dir, 'nginx'))
  cleanups.push(() => nginx.stop())
  const torrent = await parseTorrent(await readFile(join(f.cdn, 'game', '1.0.0', 'pack.torrent')))
  type Counts = { complete: number; incomplete: number }
  /** Seeders and leechers the tracker knows in the swarm (its scrape). */
  const swarm = async (): Promise<Counts> => {
    const url = `${announce.replace('/announce', '/scrape')}?token=scout-token&info_hash=${torrent.infoHash.replace(/../g, '%$&')}`
    const body = new Uint8Array(await (await fetch(url)).arrayBuffer())
    const files = (bencode.decode(body) as { files: Map<string, Counts> | Record<string, Counts> }).files
    const entry = files instanceof Map ? [...files.values()][0] : Object.values(files)[0]
    return { complete: entry?.complete ?? 0, incomplete: entry?.incomplete ?? 0 }
  }
  const leechers = async () => (await swarm()).incomplete
  const seeders = async () => (await swarm()).complete
  return { f, nginx, pub: join(f.keyDir, 'publisher.pub'), channel: `${nginx.url}/game/channels/stable.json`, token: ['--tracker-token-file', tokenFile], leechers, seeders }
}

describe('a swarm job with no peer', () => {
  it('announces itself, takes everything from the CDN, says it stopped, and never loads webtorrent', async () => {
    const dir = await tempDir()
    const r = await trackedRelease(dir, 4 * 1024 * 1024)
    const log = join(dir, 'modules.log')
    // Capped so that the tracker can be asked while the job runs.
    const get = startCli(['get', r.channel, '--pubkey', r.pub, '--dir', join(dir, 'install'), '--limit-down', '2MiB', ...r.token], { SHOAL_DATA_DIR: join(dir, 'data'), ...moduleLogEnv(log) })
    await expect.poll(r.leechers, { timeout: 10_000 }).toBe(1)
    const { code, events } = await get.exited()
    expect(code).toBe(0)
    const done = events.find((e) => e['event'] === 'done')!
    const bytes = done['bytes'] as Bytes
    expect(bytes.lan + bytes.wan).toBe(0)
    expect((done['written'] as Written).cdn).toBe(done['totalBytes'])
    expect(await treeHash(join(dir, 'install'))).toEqual(await treeHash(r.f.build))
    // Its `stopped` announce took it out of the swarm.
    expect(await r.leechers()).toBe(0)
    const modules = await loadedModules(log)
    expect(modules.some((m) => m.includes('/app/engine/sources/peers/peer-scout.ts'))).toBe(true)
    expect(modules.filter((m) => WEBTORRENT.test(m))).toEqual([])
  })
})

describe('a scouting job', () => {
  it('hands the connection of a seeder that dials in to the swarm, and finishes from it while the CDN refuses the pack', async () => {
    const dir = await tempDir()
    const r = await trackedRelease(dir, 6 * 1024 * 1024)
    const seedEnv = { SHOAL_DATA_DIR: join(dir, 'seed-data') }
    const installed = await runCli(['get', r.channel, '--pubkey', r.pub, '--dir', join(dir, 'seed'), ...r.token], seedEnv)
    expect(installed.code, installed.stderr).toBe(0)
    await rename(join(r.f.cdn, 'game', '1.0.0', 'pack.chunks'), join(dir, 'pack.chunks'))

    // Without the CDN, a job with no peer fails after the peer stall: long enough for the seeder to start.
    const get = startCli(['get', r.channel, '--pubkey', r.pub, '--dir', join(dir, 'install'), '--peer-stall', '60s', ...r.token], { SHOAL_DATA_DIR: join(dir, 'data') })
    cleanups.push(() => get.stop())
    await expect.poll(r.leechers, { timeout: 10_000 }).toBe(1)
    // The tracker tells the seeder of the leecher, not the leecher of the seeder: the leecher
    // announces again only in 10 minutes, so only the seeder's dial can bring them together.
    const seeder = startCli(['seed', '--dir', join(dir, 'seed'), '--pubkey', r.pub, ...r.token], seedEnv)
    cleanups.push(() => seeder.stop())
    const { code, events } = await get.exited()
    expect(code).toBe(0)
    const done = events.find((e) => e['event'] === 'done')!
    const bytes = done['bytes'] as Bytes
    expect(bytes.cdn).toBe(0)
    expect(bytes.lan).toBeGreaterThanOrEqual(done['totalBytes'] as number)
    expect(await treeHash(join(dir, 'install'))).toEqual(await treeHash(r.f.build))
  })
})

describe('a scouting seeder', () => {
  it('announces without loading webtorrent while nobody downloads, stays so beside another seeder, and serves a leecher that finds it', async () => {
    const dir = await tempDir()
    const r = await trackedRelease(dir, 6 * 1024 * 1024)
    const installs = ['one', 'two'].map((name) => ({ name, dir: join(dir, `seed-${name}`), env: { SHOAL_DATA_DIR: join(dir, `data-${name}`) }, log: join(dir, `modules-${name}.log`) }))
    for (const s of installs) {
      const installed = await runCli(['get', r.channel, '--pubkey', r.pub, '--dir', s.dir, ...r.token], s.env)
      expect(installed.code, installed.stderr).toBe(0)
    }
    await rename(join(r.f.cdn, 'game', '1.0.0', 'pack.chunks'), join(dir, 'pack.chunks'))

    // The second seeder hears of the first from the tracker, which counts no leecher: no reason to wake.
    const seeds = installs.map((s) => {
      const seed = startCli(['seed', '--dir', s.dir, '--pubkey', r.pub, ...r.token], { ...s.env, ...moduleLogEnv(s.log) })
      cleanups.push(() => seed.stop())
      return seed
    })
    await expect.poll(r.seeders, { timeout: 10_000 }).toBe(2)
    await new Promise((resolve) => setTimeout(resolve, 500))
    for (const s of installs) {
      const modules = await loadedModules(s.log)
      expect(modules.some((m) => m.includes('/app/engine/sources/peers/peer-scout.ts'))).toBe(true)
      expect(modules.filter((m) => WEBTORRENT.test(m)), `seeder ${s.name} loaded webtorrent`).toEqual([])
    }

    // A leecher learns of both from the tracker and dials them: they take its connections to their swarms.
    const get = await runCli(['get', r.channel, '--pubkey', r.pub, '--dir', join(dir, 'install'), '--json', ...r.token], { SHOAL_DATA_DIR: join(dir, 'data') })
    expect(get.code, get.stderr).toBe(0)
    const bytes = get.last['bytes'] as Bytes
    expect(bytes.cdn).toBe(0)
    expect(bytes.lan).toBeGreaterThanOrEqual(get.last['totalBytes'] as number)
    expect(await treeHash(join(dir, 'install'))).toEqual(await treeHash(r.f.build))
    const stopped = await Promise.all(seeds.map((seed) => seed.stop()))
    const uploaded = stopped.map(({ events }) => events.find((e) => e['event'] === 'stopped')!['uploaded'] as number)
    expect(uploaded.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(get.last['totalBytes'] as number)
    for (const [i, s] of installs.entries()) {
      if (uploaded[i]! > 0) expect((await loadedModules(s.log)).some((m) => WEBTORRENT.test(m))).toBe(true)
    }
    // The seeders' `stopped` announces took them out of the swarm.
    expect(await r.seeders()).toBe(0)
  })
})
