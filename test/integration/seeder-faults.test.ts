// Seeders that die or run out of disk while a leecher takes a release from them: real `shoal seed`
// and `shoal get` processes, nginx as the CDN, a private tmpfs for the full disk.
import { execFile } from 'node:child_process'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { seededRelease, type Bytes } from '../support/installed-release.ts'
import { startCli } from '../support/long-running-cli.ts'
import { runCli } from '../support/run-cli.ts'
import { useTempDirs } from '../support/temp-dir.ts'
import { treeHash } from '../support/tree-hash.ts'

const run = promisify(execFile)
const CLI = fileURLToPath(new URL('../../app/cli/shoal.ts', import.meta.url))
const tempDir = useTempDirs()
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe('a seeder killed mid-transfer', () => {
  it('kill -9: the leecher completes from the other seeder and the CDN; both seeders keep their installs', async () => {
    const dir = await tempDir()
    const { f, pub, channel, seeder, port, install } = await seededRelease(dir, 24 * 1024 * 1024, ['--limit-up', '4MiB'], cleanups)
    const otherInstall = join(dir, 'other')
    const otherEnv = { SHOAL_DATA_DIR: join(dir, 'data-other') }
    expect((await runCli(['get', channel, '--pubkey', pub, '--dir', otherInstall], otherEnv)).code).toBe(0)
    const other = startCli(['seed', '--dir', otherInstall, '--pubkey', pub, '--limit-up', '4MiB', '--listen', '127.0.0.2'], otherEnv)
    cleanups.push(() => other.stop())
    const otherPort = ((await other.waitFor('seeding')) as { port: number }).port
    const tree = await treeHash(f.build)

    const get = startCli(['get', channel, '--pubkey', pub, '--dir', join(dir, 'b'), '--peer', `127.0.0.1:${port}`, '--peer', `127.0.0.2:${otherPort}`, '--peer-stall', '1s'], { SHOAL_DATA_DIR: join(dir, 'data-b') })
    cleanups.push(() => get.stop())
    await get.waitFor('progress', (e) => ((e['bytes'] as Bytes | undefined)?.lan ?? 0) > 0)
    process.kill(seeder.pid, 'SIGKILL')
    expect((await seeder.exited()).code).toBe(null)
    const { code, events } = await get.exited()
    expect(code).toBe(0)
    const done = events.at(-1)!
    expect(done).toMatchObject({ event: 'done', version: '1.0.0' })
    expect((done['bytes'] as Bytes).lan).toBeGreaterThan(0)
    expect(await treeHash(join(dir, 'b'))).toEqual(tree)
    expect(await treeHash(install)).toEqual(tree)
    expect(await treeHash(otherInstall)).toEqual(tree)
  })
})
