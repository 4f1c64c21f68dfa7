import { spawn } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { startNginx } from '../support/nginx.ts'
import { makeFixture } from '../support/release-fixture.ts'
import { runCli } from '../support/run-cli.ts'
import { seededRelease, type Bytes, type Written } from '../support/installed-release.ts'
import { startCli } from '../support/long-running-cli.ts'
import { useTempDirs } from '../support/temp-dir.ts'
import { treeHash } from '../support/tree-hash.ts'

const tempDir = useTempDirs()
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})


describe('shoal get with peers', () => {
  it('takes the release from a LAN peer over an encrypted wire, leaving the CDN at zero chunk bytes, and falls back to the CDN when peers are silent', async () => {
    const dir = await tempDir()
    const { f, nginx, pub, channel, port } = await seededRelease(dir, 6 * 1024 * 1024, ['--peer-encryption', 'require'], cleanups)

    const before = await nginx.bodyBytesSent(/pack\.chunks/)
    // Offload only (--finish-slip off): on loopback the CDN outruns the peer, and the finish bound would use it.
    const fromPeer = await runCli(['get', channel, '--pubkey', pub, '--dir', join(dir, 'b'), '--peer', `127.0.0.1:${port}`, '--peer-encryption', 'require', '--finish-slip', 'off', '--json'], { SHOAL_DATA_DIR: join(dir, 'data-b') })
    expect(fromPeer.code, fromPeer.stderr).toBe(0)
    const bytes = fromPeer.last['bytes'] as { cdn: number; lan: number; wan: number; local: number }
    expect(bytes.cdn).toBe(0)
    expect(await nginx.bodyBytesSent(/pack\.chunks/)).toBe(before)
    expect(bytes.lan).toBeGreaterThanOrEqual(6 * 1024 * 1024)
    expect(bytes.wan).toBe(0)
    expect(await treeHash(join(dir, 'b'))).toEqual(await treeHash(f.build))

    const silent = await runCli(['get', channel, '--pubkey', pub, '--dir', join(dir, 'c'), '--peer', '127.0.0.1:9', '--peer-stall', '1s', '--json'], { SHOAL_DATA_DIR: join(dir, 'data-c') })
    expect(silent.code, silent.stderr).toBe(0)
    expect(silent.last['bytes']).toMatchObject({ lan: 0, wan: 0 })
    expect((silent.last['bytes'] as { cdn: number }).cdn).toBeGreaterThan(0)
    expect(await treeHash(join(dir, 'c'))).toEqual(await treeHash(f.build))
  })
})

describe('a lying peer', () => {
  it('is banned after sending pieces that fail verification, and the job still completes with the right bytes', async () => {
    const dir = await tempDir()
    const f = await makeFixture(dir, 4 * 1024 * 1024)
    expect((await f.publish(f.build, '1.0.0')).code).toBe(0)
    const nginx = await startNginx(f.cdn, join(dir, 'nginx'))
    cleanups.push(() => nginx.stop())
    const liar = spawn(process.execPath, [fileURLToPath(new URL('../support/lying-peer.ts', import.meta.url)), join(f.cdn, 'game', '1.0.0', 'pack.torrent')], { stdio: ['ignore', 'pipe', 'inherit'] })
    cleanups.push(async () => {
      liar.kill('SIGTERM')
      await new Promise((r) => liar.once('exit', r))
    })
    const port = await new Promise<number>((resolve) => liar.stdout!.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port)))
    // 127.0.0.2 reaches the same machine under its own address, so the ban hits only the liar.
    const run = await runCli(['get', `${nginx.url}/game/channels/stable.json`, '--pubkey', join(f.keyDir, 'publisher.pub'), '--dir', join(dir, 'install'), '--peer', `127.0.0.2:${port}`, '--peer-stall', '2s', '--json'], { SHOAL_DATA_DIR: join(dir, 'data') })
    expect(run.code, run.stderr).toBe(0)
    expect(run.last['bannedPeers']).toEqual(['127.0.0.2'])
    expect((run.last['bytes'] as { cdn: number }).cdn).toBeGreaterThan(0)
    expect(await treeHash(join(dir, 'install'))).toEqual(await treeHash(f.build))
  })
})

const sum = (w: Written) => w.cdn + w.lan + w.wan + w.local

describe('the CDN beside peers', () => {
  it('tops up a slow peer to the target rate, and every written byte is counted once', async () => {
    const dir = await tempDir()
    const { f, pub, channel, port } = await seededRelease(dir, 24 * 1024 * 1024, ['--limit-up', '2MiB'], cleanups)

    const run = await runCli(['get', channel, '--pubkey', pub, '--dir', join(dir, 'b'), '--peer', `127.0.0.1:${port}`, '--target-rate', '12MiB', '--json'], { SHOAL_DATA_DIR: join(dir, 'data-b') })
    expect(run.code, run.stderr).toBe(0)
    const bytes = run.last['bytes'] as Bytes
    const written = run.last['written'] as Written
    expect(bytes.lan).toBeGreaterThan(0)
    expect(bytes.cdn).toBeGreaterThan(0)
    expect(sum(written)).toBe(run.last['totalBytes'])
    expect(written.lan).toBe(bytes.lan)
    expect(await treeHash(join(dir, 'b'))).toEqual(await treeHash(f.build))
  })

  it('finishes from the CDN when every peer leaves mid-download', async () => {
    const dir = await tempDir()
    const { f, pub, channel, seeder, port } = await seededRelease(dir, 24 * 1024 * 1024, ['--limit-up', '4MiB'], cleanups)

    const get = startCli(['get', channel, '--pubkey', pub, '--dir', join(dir, 'b'), '--peer', `127.0.0.1:${port}`, '--peer-stall', '1s'], { SHOAL_DATA_DIR: join(dir, 'data-b') })
    cleanups.push(() => get.stop())
    await get.waitFor('progress', (e) => ((e['bytes'] as Bytes | undefined)?.lan ?? 0) > 0)
    await seeder.stop()
    const { code, events } = await get.exited()
    expect(code).toBe(0)
    const done = events.at(-1)!
    const bytes = done['bytes'] as Bytes
    expect(bytes.lan).toBeGreaterThan(0)
    expect(bytes.cdn).toBeGreaterThan(0)
    expect(sum(done['written'] as Written)).toBe(done['totalBytes'])
    expect(await treeHash(join(dir, 'b'))).toEqual(await treeHash(f.build))
  })

  it('finishes from peers when the CDN cannot serve the pack', async () => {
    const dir = await tempDir()
    const { f, pub, channel, port } = await seededRelease(dir, 12 * 1024 * 1024, ['--limit-up', '4MiB'], cleanups)
    // The pointer and manifest still resolve; every range request for the pack now gets a 404.
    await rm(join(f.cdn, 'game', '1.0.0', 'pack.chunks'))

    const run = await runCli(['get', channel, '--pubkey', pub, '--dir', join(dir, 'b'), '--peer', `127.0.0.1:${port}`, '--target-rate', '64MiB', '--json'], { SHOAL_DATA_DIR: join(dir, 'data-b') })
    expect(run.code, run.stderr).toBe(0)
    const written = run.last['written'] as Written
    expect(written.cdn).toBe(0)
    expect(written.lan).toBe(run.last['totalBytes'])
    expect(await treeHash(join(dir, 'b'))).toEqual(await treeHash(f.build))
  })
})

describe('clients with no seeder', () => {
  it('split what no peer has: each brings its share from the CDN and takes the rest from the other', async () => {
    const dir = await tempDir()
    const f = await makeFixture(dir, 8 * 1024 * 1024)
    const published = await f.publish(f.build, '1.0.0')
    expect(published.code, published.stderr).toBe(0)
    const nginx = await startNginx(f.cdn, join(dir, 'nginx'))
    cleanups.push(() => nginx.stop())
    const tracker = startCli(['tracker', '--port', '0'])
    cleanups.push(() => tracker.stop())
    const { announce } = (await tracker.waitFor('listening')) as { announce: string }
    const pub = join(f.keyDir, 'publisher.pub')
    const channel = `${nginx.url}/game/channels/stable.json`
    const before = await nginx.bodyBytesSent(/pack\.chunks/)
    // Capped, so that both are still downloading once they meet; offload first, so the CDN takes only what no peer has.
    const get = (name: string) => runCli(['get', channel, '--pubkey', pub, '--dir', join(dir, name), '--tracker', announce, '--limit-down', '1MiB', '--finish-slip', 'off', '--json'], { SHOAL_DATA_DIR: join(dir, `data-${name}`) })
    const runs = await Promise.all([get('a'), get('b')])
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(0)
      expect((run.last['bytes'] as Bytes).lan).toBeGreaterThan(0)
    }
    for (const name of ['a', 'b']) expect(await treeHash(join(dir, name))).toEqual(await treeHash(f.build))
    const total = runs[0]!.last['totalBytes'] as number
    const fromCdn = (await nginx.bodyBytesSent(/pack\.chunks/)) - before
    console.log(`two clients, no seeder: the CDN sent ${fromCdn} bytes for ${total}; no-peer pieces ${runs.map((r) => JSON.stringify(r.last['cdnPieces'])).join(' / ')}`)
    // Each piece no peer had went to one of them, not both (two whole copies without the group).
    expect(fromCdn).toBeLessThan(1.3 * total)
  })
})

describe('a peer that trickles', () => {
  it('is cut, and the CDN takes the pieces it was asked for', async () => {
    const dir = await tempDir()
    // Seeded at 512 bytes a second from its own address: a 128 KiB block takes minutes.
    const { f, pub, channel, port, install } = await seededRelease(dir, 12 * 1024 * 1024, ['--limit-up', '512', '--listen', '127.0.0.2'], cleanups)
    // --peer-stall 10m: the swarm-wide stall never hands its pieces to the CDN; only cutting the
    // peer frees them (--stall-timeout is the window a trickle is judged over).
    const run = await runCli(['get', channel, '--pubkey', pub, '--dir', join(dir, 'b'), '--peer', `127.0.0.2:${port}`, '--peer-stall', '10m', '--stall-timeout', '1s', '--json'], { SHOAL_DATA_DIR: join(dir, 'data-b') })
    expect(run.code, run.stderr).toBe(0)
    expect(await treeHash(join(dir, 'b'))).toEqual(await treeHash(f.build))
    expect(run.last['trickledPeers']).toEqual(['127.0.0.2'])
    expect((run.last['bytes'] as Bytes).cdn).toBeGreaterThan(0)
    expect(await treeHash(install)).toEqual(await treeHash(f.build))
  })
})
