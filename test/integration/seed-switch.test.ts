// Issue 18: `get` updating an install that `seed` serves at that moment. The seeder must never
// upload bytes of a half-switched file, and it moves to the new version.
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { writeUpdatedBuild } from '../../app/demo/sample-build.ts'
import { installedRelease, seededRelease } from '../support/installed-release.ts'
import { startCli } from '../support/long-running-cli.ts'
import { runCli } from '../support/run-cli.ts'
import { useTempDirs } from '../support/temp-dir.ts'
import { treeHash } from '../support/tree-hash.ts'

const tempDir = useTempDirs()
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe('seed while get updates the install it serves', () => {
  it('a leecher of the old version gets only verified bytes; the seeder then serves the new version', async () => {
    const dir = await tempDir()
    // The seeder's upload cap keeps the first leecher downloading while the install switches.
    const r = await seededRelease(dir, 4 * 1024 * 1024, ['--listen', '127.0.0.1', '--limit-up', '512KiB'], cleanups)
    const v1Tree = await treeHash(r.f.build)
    await writeUpdatedBuild(r.f.build, join(dir, 'build-v2'), 'seed-switch-v2')
    expect((await r.f.publish(join(dir, 'build-v2'), '1.1.0', ['--channel', 'beta'])).code).toBe(0)
    const beta = r.channel.replace('stable.json', 'beta.json')
    await mkdir(join(dir, 'outside'))
    await writeFile(join(dir, 'outside', 'keep.txt'), 'untouched')
    const outside = await treeHash(join(dir, 'outside'))

    const peer = (port: unknown, name: string, channel: string) => ['get', channel, '--pubkey', r.pub, '--dir', join(dir, name), '--peer', `127.0.0.1:${port as number}`, '--listen', '127.0.0.1']
    const first = startCli(peer(r.port, 'leecher-1', r.channel), { SHOAL_DATA_DIR: join(dir, 'data-1') })
    cleanups.push(() => first.stop())
    await first.waitFor('progress', (e) => (e['bytes'] as { lan: number }).lan > 0)
    const update = await runCli(['get', beta, '--pubkey', r.pub, '--dir', r.install, '--json'], r.env)
    expect(update.code, update.stderr).toBe(0)

    const moved = await r.seeder.waitFor('seeding', (e) => e['version'] === '1.1.0')
    const done = await first.exited()
    expect(done.code).toBe(0)
    expect(done.events.at(-1)).toMatchObject({ event: 'done', version: '1.0.0', bannedPeers: [] })
    expect(await treeHash(join(dir, 'leecher-1'))).toEqual(v1Tree)

    const second = await runCli([...peer(moved['port'], 'leecher-2', beta), '--json'], { SHOAL_DATA_DIR: join(dir, 'data-2') })
    expect(second.code, second.stderr).toBe(0)
    expect(second.last).toMatchObject({ event: 'done', version: '1.1.0', bannedPeers: [] })
    expect((second.last['bytes'] as { lan: number }).lan).toBeGreaterThan(0)
    expect(await treeHash(join(dir, 'leecher-2'))).toEqual(await treeHash(join(dir, 'build-v2')))
    expect(await treeHash(r.install)).toEqual(await treeHash(join(dir, 'build-v2')))
    expect(await treeHash(join(dir, 'outside'))).toEqual(outside)
  })

  it('a seeder follows a switch made with another data dir, as the agent follows the CLI, and that data dir can update the install', async () => {
    const dir = await tempDir()
    const r = await seededRelease(dir, 2 * 1024 * 1024, ['--listen', '127.0.0.1'], cleanups)
    await writeUpdatedBuild(r.f.build, join(dir, 'build-v2'), 'other-data-dir-v2')
    expect((await r.f.publish(join(dir, 'build-v2'), '1.1.0', ['--channel', 'beta'])).code).toBe(0)
    const beta = r.channel.replace('stable.json', 'beta.json')
    // Another user's (or root's) CLI: its own data dir, which has never seen this install.
    const other = { SHOAL_DATA_DIR: join(dir, 'data-other') }
    const update = await runCli(['get', beta, '--pubkey', r.pub, '--dir', r.install, '--json'], other)
    expect(update.code, update.stderr).toBe(0)
    expect(update.last).toMatchObject({ event: 'done', from: '1.0.0', version: '1.1.0' })
    expect(update.last['userFiles']).toMatchObject({ kept: [], movedAside: [] })

    // The seeder, whose data dir holds 1.0.0, moves to 1.1.0 and serves it.
    const moved = await r.seeder.waitFor('seeding', (e) => e['version'] === '1.1.0')
    const leecher = await runCli(['get', beta, '--pubkey', r.pub, '--dir', join(dir, 'leecher'), '--peer', `127.0.0.1:${moved['port'] as number}`, '--listen', '127.0.0.1', '--finish-slip', 'off', '--json'], { SHOAL_DATA_DIR: join(dir, 'data-leecher') })
    expect(leecher.code, leecher.stderr).toBe(0)
    expect((leecher.last['bytes'] as { lan: number }).lan).toBeGreaterThan(0)
    expect(await treeHash(join(dir, 'leecher'))).toEqual(await treeHash(join(dir, 'build-v2')))
    // The first data dir knows the new version too: nothing to do, and a rollback goes to 1.0.0.
    const again = await runCli(['get', beta, '--pubkey', r.pub, '--dir', r.install, '--json'], r.env)
    expect(again.last).toMatchObject({ event: 'done', upToDate: true, version: '1.1.0' })
    await r.seeder.stop()
    const back = await runCli(['rollback', '--dir', r.install, '--json'], r.env)
    expect(back.code, back.stderr).toBe(0)
    expect(await treeHash(r.install)).toEqual(await treeHash(r.f.build))
  })

  it('a record left beside a folder the user deleted is not adopted: a fresh install starts from nothing', async () => {
    const dir = await tempDir()
    const r = await installedRelease(dir, 256 * 1024)
    cleanups.push(() => r.nginx.stop())
    await rm(r.install, { recursive: true })
    const again = await runCli(['get', r.channel, '--pubkey', r.pub, '--dir', r.install, '--json'], { SHOAL_DATA_DIR: join(dir, 'data-fresh') })
    expect(again.code, again.stderr).toBe(0)
    expect(again.last).toMatchObject({ event: 'done', from: null, version: '1.0.0' })
    expect(await treeHash(r.install)).toEqual(await treeHash(r.f.build))
  })
})
