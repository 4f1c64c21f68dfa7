import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNginx, type Nginx } from '../support/nginx.ts'
import { makeFixture, type Fixture } from '../support/release-fixture.ts'
import { tmpfsUnavailable } from '../support/tmpfs.ts'

const run = promisify(execFile)
const CLI = fileURLToPath(new URL('../../app/cli/shoal.ts', import.meta.url))

const skipReason = await tmpfsUnavailable()
if (skipReason) console.log(`full-disk tests skipped: ${skipReason}`)

let dir: string
let f: Fixture
let nginx: Nginx

beforeAll(async () => {
  if (skipReason) return
  dir = await mkdtemp(join(tmpdir(), 'shoal-disk-'))
  const fx = await makeFixture(dir, 24 * 1024 * 1024)
  f = fx
  expect((await f.publish(fx.build, '1.0.0')).code).toBe(0)
  nginx = await startNginx(f.cdn, join(dir, 'nginx'))
}, 120_000)

afterAll(async () => {
  await nginx?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** Runs a shell script in a private mount namespace with a tmpfs of `size` at $MNT; `shoal` is the CLI. */
async function inTmpfs(size: string, script: string): Promise<string> {
  const mnt = join(dir, `mnt-${size}`)
  await mkdir(mnt, { recursive: true })
  const out = join(dir, `out-${size}`)
  await mkdir(out, { recursive: true })
  const shoal = `${process.execPath} ${CLI}`
  const get = `${shoal} get ${nginx.url}/game/channels/stable.json --pubkey ${join(f.keyDir, 'publisher.pub')} --dir $MNT/install --json`
  const body = `set -u; mount -t tmpfs -o size=${size} tmpfs ${mnt}; MNT=${mnt}; OUT=${out}; GET="${get}"; export SHOAL_DATA_DIR=${join(out, 'data')}; ${script}`
  await run('unshare', ['-m', 'sh', '-c', body], { maxBuffer: 1 << 24 })
  return out
}

const lastLine = async (path: string) => JSON.parse((await readFile(path, 'utf8')).trim().split('\n').at(-1)!) as Record<string, unknown>

describe.skipIf(skipReason)('a full disk', () => {
  it('is refused before the start, with the numbers', async () => {
    const out = await inTmpfs('40m', '$GET > $OUT/first.jsonl 2>/dev/null; ls -A $MNT > $OUT/left.txt')
    const first = await lastLine(join(out, 'first.jsonl'))
    expect(first).toMatchObject({ event: 'error', code: 'E_NO_SPACE' })
    expect(first['message']).toMatch(/staging needs \d+ bytes .* only \d+ are free/)
    // Only the folder's lock, which stays beside it by design (app/engine/install/dir-lock.ts).
    expect((await readFile(join(out, 'left.txt'), 'utf8')).trim()).toBe('.install.shoal-lock')
  })

  it('filling up part-way gives a clear error, keeps verified chunks, and resumes once space is freed', async () => {
    const script = [
      // One connection at 4 MiB/s, 8 MiB ranges: once 10 MB have arrived the first range is written
      // and the second is still on its way (it completes at 16.7 MB), so the disk fills mid-job.
      '$GET --limit-down 4MiB --connections 1 > $OUT/first.jsonl 2>/dev/null &',
      `for i in $(seq 400); do grep -qE '"cdn":1[0-9]{7},' $OUT/first.jsonl && break; sleep 0.05; done`,
      'dd if=/dev/zero of=$MNT/filler bs=1M count=400 2>/dev/null',
      'wait',
      'ls -A $MNT > $OUT/during.txt',
      'rm $MNT/filler',
      '$GET > $OUT/second.jsonl 2>/dev/null',
      'sha256sum $MNT/install/data/assets0.pak | cut -c1-64 > $OUT/sum.txt',
    ].join('\n')
    const out = await inTmpfs('110m', script)
    expect(await lastLine(join(out, 'first.jsonl'))).toMatchObject({ event: 'error', code: 'E_NO_SPACE' })
    // No install folder appeared: only the staging folder (kept for the resume), the lock and the filler.
    expect((await readFile(join(out, 'during.txt'), 'utf8')).trim().split('\n').sort()).toEqual(['.install.shoal-lock', '.install.shoal-staging', 'filler'])
    const second = await lastLine(join(out, 'second.jsonl'))
    expect(second).toMatchObject({ event: 'done', version: '1.0.0', resumed: true })
    // The range verified before the disk filled was kept: the rerun fetched at least 7 MiB less than the store.
    const store = (await stat(join(f.cdn, 'game', '1.0.0', 'pack.chunks'))).size
    expect((second['bytes'] as { cdn: number }).cdn).toBeLessThan(store - 7 * 1024 * 1024)
    const { createHash } = await import('node:crypto')
    expect((await readFile(join(out, 'sum.txt'), 'utf8')).trim()).toBe(createHash('sha256').update(await readFile(join(f.cdn, '..', 'build-v1', 'data', 'assets0.pak'))).digest('hex'))
  })
})
