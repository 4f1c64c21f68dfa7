import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { createSwarmClient } from '../../app/engine/swarm/swarm-client.ts'
import { InstallPieceStore, pieceStoreLayout } from '../../app/engine/storage/install-piece-store.ts'
import { startTracker } from '../../app/tracker/tracker-server.ts'
import { startNginx } from '../support/nginx.ts'
import { makeFixture } from '../support/release-fixture.ts'
import { runCli } from '../support/run-cli.ts'
import { useTempDirs } from '../support/temp-dir.ts'
import { contentOnly, createSparseTree, treeHash } from '../support/tree-hash.ts'

const tempDir = useTempDirs()
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe('shoal seed', () => {
  it('serves an installed release that a peer finds through the token-protected tracker', async () => {
    const dir = await tempDir()
    const f = await makeFixture(dir, 6 * 1024 * 1024)
    expect((await f.publish(f.build, '1.0.0')).code).toBe(0)
    const nginx = await startNginx(f.cdn, join(dir, 'nginx'))
    cleanups.push(() => nginx.stop())
    const pub = join(f.keyDir, 'publisher.pub')
    const install = join(dir, 'install')
    const env = { SHOAL_DATA_DIR: join(dir, 'data') }
    expect((await runCli(['get', `${nginx.url}/game/channels/stable.json`, '--pubkey', pub, '--dir', install], env)).code).toBe(0)

    const token = 'swarm-secret'
    await writeFile(join(dir, 'token'), token)
    const tracker = await startTracker({ port: 0, host: '127.0.0.1', token })
    cleanups.push(() => tracker.close())

    const cli = fileURLToPath(new URL('../../app/cli/shoal.ts', import.meta.url))
    const seeder = spawn(process.execPath, [cli, 'seed', '--dir', install, '--pubkey', pub, '--tracker', tracker.announceUrl, '--tracker-token-file', join(dir, 'token'), '--json'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    const seeding = await new Promise<{ port: number; pieces: number; pieceCount: number }>((resolve) => {
      seeder.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        const line = out.split('\n').find((l) => l.includes('"seeding"'))
        if (line) resolve(JSON.parse(line) as { port: number; pieces: number; pieceCount: number })
      })
    })
    expect(seeding.pieces).toBe(seeding.pieceCount)

    const m = await f.readManifest('1.0.0')
    const target = join(dir, 'leeched')
    await createSparseTree(m.files, target)
    const leecher = createSwarmClient({ port: 0, trackerToken: token, limitUp: 0 })
    cleanups.push(() => new Promise((r) => leecher.destroy(() => r(undefined))))
    const torrent = leecher.add(await readFile(join(f.cdn, 'game', '1.0.0', 'pack.torrent')), { store: InstallPieceStore, storeOpts: { shoal: pieceStoreLayout(m, target) }, announce: [tracker.announceUrl] })
    // No addPeer: the only way to the seeder is the tracker.
    await new Promise((r) => (torrent.done ? r(undefined) : torrent.once('done', r)))
    expect(contentOnly(await treeHash(target))).toEqual(contentOnly(await treeHash(install)))

    seeder.kill('SIGTERM')
    expect(await new Promise((r) => seeder.once('exit', r))).toBe(0)
    const stopped = JSON.parse(out.trim().split('\n').at(-1)!) as { event: string; uploaded: number }
    expect(stopped.event).toBe('stopped')
    expect(stopped.uploaded).toBeGreaterThanOrEqual(m.totals.uniqueBytes)
  })
})
