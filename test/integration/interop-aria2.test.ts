// Interop with a real BitTorrent client: aria2c (Debian) seeds Shoal's pack torrent to
// `shoal get`, and downloads it from `shoal seed`. aria2c stays on 127.0.0.1 with DHT,
// LPD and peer exchange off. The release is public: private and lan swarms admit only Shoal
// peers with a pass, over TLS; public ones keep MSE so that standard clients can join.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFile, mkdir, readFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort } from '../support/free-port.ts'
import { installedRelease } from '../support/installed-release.ts'
import { writeRawPack } from '../support/raw-pack.ts'
import { startCli } from '../support/long-running-cli.ts'
import { runCli } from '../support/run-cli.ts'
import { useTempDirs } from '../support/temp-dir.ts'
import { treeHash } from '../support/tree-hash.ts'

const tempDir = useTempDirs()
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const ARIA2C = '/usr/bin/aria2c'
/**
 * Loopback only, no DHT, LPD, peer exchange or anything else that would look beyond it.
 * Requiring crypto makes aria2c refuse plain handshakes: both directions must speak MSE/PE.
 */
const ARIA2_BASE = [
  '--interface=127.0.0.1',
  '--disable-ipv6=true',
  '--enable-dht=false',
  '--enable-dht6=false',
  '--bt-enable-lpd=false',
  '--enable-peer-exchange=false',
  '--file-allocation=none',
  '--console-log-level=warn',
  '--summary-interval=0',
  '--no-conf=true',
  '--bt-require-crypto=true',
]

function aria2c(args: readonly string[]): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
  const child = spawn(ARIA2C, [...ARIA2_BASE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  })
  return { child, exited, output: () => output }
}

async function waitForTcp(port: number, exited: Promise<number | null>, output: () => string): Promise<void> {
  let gone = false
  void exited.then(() => (gone = true))
  for (let i = 0; i < 400; i++) {
    if (gone) throw new Error(`aria2c exited before listening: ${output()}`)
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => resolve(true)).once('error', () => resolve(false))
      s.once('connect', () => s.destroy())
    })
    if (up) return
    await sleep(50)
  }
  throw new Error(`aria2c did not listen on ${port}: ${output()}`)
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

describe('interop with aria2c', () => {
  it('shoal get downloads the release from aria2c seeding the raw pack; aria2c downloads the pack from shoal seed', async () => {
    const dir = await tempDir()
    const { f, nginx, pub, channel, install, env } = await installedRelease(dir, 6 * 1024 * 1024, ['--scope', 'public'])
    cleanups.push(() => nginx.stop())
    const m = await f.readManifest('1.0.0')
    const torrentFile = join(f.cdn, 'game', '1.0.0', 'pack.torrent')

    // aria2c checks the raw pack, rebuilt from the install, against the torrent (-V) and then seeds it.
    const seedDir = join(dir, 'aria2-seed')
    await mkdir(seedDir)
    await writeRawPack(m, install, join(seedDir, m.pack.name))
    const rawPack = await readFile(join(seedDir, m.pack.name))
    expect(rawPack.length).toBe(m.pack.length)
    const port = await freePort()
    const seeder = aria2c(['--dir', seedDir, '--check-integrity=true', '--seed-ratio=0.0', `--listen-port=${port}`, torrentFile])
    await waitForTcp(port, seeder.exited, seeder.output)

    const before = await nginx.bodyBytesSent(/pack\.chunks/)
    // Offload only: on loopback the CDN outruns the peer, and the finish bound would use it.
    const got = await runCli(['get', channel, '--pubkey', pub, '--dir', join(dir, 'from-aria2'), '--peer', `127.0.0.1:${port}`, '--finish-slip', 'off', '--json'], { SHOAL_DATA_DIR: join(dir, 'data-from-aria2') })
    expect(got.code, got.stderr).toBe(0)
    console.log(`interop-aria2: shoal get from aria2c: bytes ${JSON.stringify(got.last['bytes'])}, written ${JSON.stringify(got.last['written'])}, total ${got.last['totalBytes']}`)
    expect(got.last['bytes']).toMatchObject({ cdn: 0, wan: 0 })
    expect(got.last['written']).toEqual({ cdn: 0, lan: got.last['totalBytes'], wan: 0, local: 0 })
    expect(await nginx.bodyBytesSent(/pack\.chunks/)).toBe(before)
    expect(await treeHash(join(dir, 'from-aria2'))).toEqual(await treeHash(f.build))

    // The reverse: shoal seed serves the install, and aria2c learns of it from the tracker.
    const tracker = startCli(['tracker', '--port', '0'])
    cleanups.push(() => tracker.stop())
    const { announce } = (await tracker.waitFor('listening')) as { announce: string }
    const shoalSeed = startCli(['seed', '--dir', install, '--pubkey', pub, '--tracker', announce], env)
    cleanups.push(() => shoalSeed.stop())
    await shoalSeed.waitFor('seeding')
    const leechDir = join(dir, 'aria2-leech')
    await mkdir(leechDir)
    // A copy: aria2c writes a control file next to the torrent it was given.
    await copyFile(torrentFile, join(leechDir, 'pack.torrent'))
    const leecher = aria2c(['--dir', leechDir, `--bt-tracker=${announce}`, '--seed-time=0', '--bt-stop-timeout=60', `--listen-port=${await freePort()}`, join(leechDir, 'pack.torrent')])
    expect(await leecher.exited, leecher.output()).toBe(0)
    const downloaded = await readFile(join(leechDir, m.pack.name))
    expect(downloaded.length).toBe(m.pack.length)
    expect(sha256(downloaded)).toBe(sha256(rawPack))
    const { events } = await shoalSeed.stop()
    const uploaded = events.at(-1)!['uploaded'] as number
    console.log(`interop-aria2: aria2c got ${downloaded.length} bytes from shoal seed (uploaded ${uploaded})`)
    expect(uploaded).toBeGreaterThanOrEqual(m.pack.length)
  }, 120_000)
})
