// Issue 18: `get` updating an install that `seed` serves at that moment. The seeder must never
// upload bytes of a half-switched file, and it moves to the new version.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { writeUpdatedBuild } from '../../app/demo/sample-build.ts'
import { seededRelease } from '../support/installed-release.ts'
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
})
