// Seeders that die or run out of disk while a leecher takes a release from them: real `shoal seed`
// and `shoal get` processes, nginx as the CDN, a private tmpfs for the full disk.
import { execFile } from 'node:child_process'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { installedRelease, seededRelease, type Bytes } from '../support/installed-release.ts'
import { startCli } from '../support/long-running-cli.ts'
import { runCli } from '../support/run-cli.ts'
import { useTempDirs } from '../support/temp-dir.ts'
import { tmpfsUnavailable } from '../support/tmpfs.ts'
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

const noTmpfs = await tmpfsUnavailable()
if (noTmpfs) console.log(`disk-full seeding test skipped: ${noTmpfs}`)

describe.skipIf(noTmpfs)('a seeder whose disk fills up', () => {
  it('keeps serving and stops cleanly; the leecher completes and the seeded install is intact', async () => {
    const dir = await tempDir()
    const { f, nginx, pub, channel } = await installedRelease(dir, 12 * 1024 * 1024)
    cleanups.push(() => nginx.stop())
    const mnt = join(dir, 'mnt')
    const out = join(dir, 'out')
    await mkdir(mnt)
    await mkdir(out)
    const shoal = `${process.execPath} ${CLI}`
    // In a private mount namespace: install and seed from a 100 MiB tmpfs (install and data dir
    // both on it), start a leecher outside it, fill the tmpfs once peer bytes flow, let the
    // leecher finish, stop the seeder, and copy the install out for the checks.
    const script = [
      'set -u',
      `mount -t tmpfs -o size=100m tmpfs ${mnt}`,
      `MNT=${mnt}; OUT=${out}`,
      `export SHOAL_DATA_DIR=$MNT/data`,
      `${shoal} get ${channel} --pubkey ${pub} --dir $MNT/install --json > $OUT/install.jsonl 2>&1`,
      `${shoal} seed --dir $MNT/install --pubkey ${pub} --limit-up 2MiB --json > $OUT/seed.jsonl 2> $OUT/seed.err & SEED=$!`,
      `for i in $(seq 600); do grep -q '"event":"seeding"' $OUT/seed.jsonl && break; sleep 0.05; done`,
      `PORT=$(grep '"event":"seeding"' $OUT/seed.jsonl | grep -o '"port":[0-9]*' | cut -d: -f2)`,
      `SHOAL_DATA_DIR=$OUT/leech-data ${shoal} get ${channel} --pubkey ${pub} --dir $OUT/leech --peer 127.0.0.1:$PORT --peer-stall 1s --json > $OUT/leech.jsonl 2>/dev/null & LEECH=$!`,
      `for i in $(seq 600); do grep -qE '"lan":[1-9]' $OUT/leech.jsonl && break; sleep 0.05; done`,
      'dd if=/dev/zero of=$MNT/filler bs=1M count=200 2>/dev/null',
      'df -k $MNT | tail -1 > $OUT/df.txt',
      'wait $LEECH',
      'kill -TERM $SEED; wait $SEED; echo $? > $OUT/seed.code',
      'rm $MNT/filler',
      'cp -a $MNT/install $OUT/install-after',
    ].join('\n')
    await run('unshare', ['-m', 'sh', '-c', script], { maxBuffer: 1 << 24 })
    const lines = async (name: string) => (await readFile(join(out, name), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    // The disk was full while the leecher still took pieces from the seeder.
    expect((await readFile(join(out, 'df.txt'), 'utf8')).trim().split(/\s+/)[3]).toBe('0')
    expect((await lines('leech.jsonl')).at(-1)).toMatchObject({ event: 'done', version: '1.0.0' })
    expect(((await lines('leech.jsonl')).at(-1)!['bytes'] as Bytes).lan).toBeGreaterThan(0)
    expect(await treeHash(join(out, 'leech'))).toEqual(await treeHash(f.build))
    expect((await readFile(join(out, 'seed.code'), 'utf8')).trim()).toBe('0')
    expect((await lines('seed.jsonl')).at(-1)).toMatchObject({ event: 'stopped' })
    expect(await treeHash(join(out, 'install-after'))).toEqual(await treeHash(f.build))
  })
})
