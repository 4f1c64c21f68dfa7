import { spawn } from 'node:child_process'
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seededBytes, seededText } from '../../app/demo/sample-build.ts'
import { startFaultServer, type Fault } from '../support/fault-server.ts'
import type { Nginx } from '../support/nginx.ts'
import { clientFactory, serveReleasePair, type Client } from '../support/release-pair.ts'
import { forgeInto, makeFixture, type Fixture } from '../support/release-fixture.ts'
import { runCli } from '../support/run-cli.ts'
import { treeHash } from '../support/tree-hash.ts'

const BIG = 64 * 1024 * 1024
const CHANGED = 1024 * 1024

let dir: string
let f: Fixture
let nginx: Nginx
let v1Tree: Record<string, string>
let v2Tree: Record<string, string>

/** v1: a 64 MiB asset and some text; v2: 1 MiB of the asset replaced. */
async function writeBuilds(): Promise<[string, string]> {
  const v1 = join(dir, 'v1')
  const v2 = join(dir, 'v2')
  const big = seededBytes('get-big', BIG)
  for (const [root, asset] of [[v1, big], [v2, Buffer.concat([big.subarray(0, 20 * CHANGED), seededBytes('get-change', CHANGED), big.subarray(21 * CHANGED)])]] as const) {
    await mkdir(join(root, 'data'), { recursive: true })
    await writeFile(join(root, 'data', 'big.pak'), asset)
    await writeFile(join(root, 'readme.txt'), seededText('get-readme', 100_000))
    await writeFile(join(root, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 })
  }
  return [v1, v2]
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-get-'))
  f = await makeFixture(dir, 1024)
  const [v1, v2] = await writeBuilds()
  ;({ nginx, v1Tree, v2Tree } = await serveReleasePair(f, dir, v1, v2))
}, 120_000)

afterAll(async () => {
  await nginx?.stop()
  await rm(dir, { recursive: true, force: true })
})

const client = clientFactory(() => dir)

function get(c: Client, url: string, extra: string[] = []) {
  return runCli(['get', url, '--pubkey', join(f.keyDir, 'publisher.pub'), '--dir', c.install, '--json', ...extra], { SHOAL_DATA_DIR: c.data })
}

const channel = (base: string, name: string) => `${base}/game/channels/${name}.json`

describe('shoal get from nginx', () => {
  it('installs, updates moving only what changed, counts CDN bytes exactly, and keeps the previous version', async () => {
    const c = client()
    const before = await nginx.bodyBytesSent(/pack\.chunks/)
    const first = await get(c, channel(nginx.url, 'stable'))
    expect(first.code, first.stderr).toBe(0)
    expect(first.last).toMatchObject({ event: 'done', version: '1.0.0', upToDate: false, bytes: { local: 0, lan: 0, wan: 0 } })
    expect(await treeHash(c.install)).toEqual(v1Tree)
    const served = (await nginx.bodyBytesSent(/pack\.chunks/)) - before
    expect((first.last['bytes'] as { cdn: number }).cdn).toBe(served)
    expect(first.events.some((e) => e['event'] === 'progress')).toBe(true)

    const wireBefore = await nginx.bytesSent()
    const update = await get(c, channel(nginx.url, 'beta'))
    expect(update.code, update.stderr).toBe(0)
    expect(await treeHash(c.install)).toEqual(v2Tree)
    const wire = (await nginx.bytesSent()) - wireBefore
    // Pointer, manifest and chunk ranges together, against the 1 MiB that changed.
    expect(wire).toBeLessThan(3 * CHANGED)
    const bytes = update.last['bytes'] as { cdn: number; local: number }
    expect(bytes.local).toBeGreaterThan(BIG - 2 * CHANGED)
    expect(await treeHash(c.backup)).toEqual(v1Tree)

    const again = await get(c, channel(nginx.url, 'beta'))
    expect(again.last).toMatchObject({ event: 'done', upToDate: true, bytes: { cdn: 0 } })
  })

  it('refuses a downgrade unless allowed, then rolls back reusing local chunks', async () => {
    const c = client()
    expect((await get(c, channel(nginx.url, 'beta'))).code).toBe(0)
    const down = await get(c, channel(nginx.url, 'stable'))
    expect(down.last).toMatchObject({ event: 'error', code: 'E_ROLLBACK' })
    expect(await treeHash(c.install)).toEqual(v2Tree)
    const allowed = await get(c, channel(nginx.url, 'stable'), ['--allow-downgrade'])
    expect(allowed.code, allowed.stderr).toBe(0)
    expect(await treeHash(c.install)).toEqual(v1Tree)
    expect((allowed.last['bytes'] as { cdn: number }).cdn).toBeLessThan(3 * CHANGED)
  })

  it('never writes into a folder it does not own', async () => {
    const c = client()
    await mkdir(c.install)
    await writeFile(join(c.install, 'my-notes.txt'), 'precious')
    const run = await get(c, channel(nginx.url, 'stable'))
    expect(run.last).toMatchObject({ event: 'error', code: 'E_NOT_INSTALLED' })
    expect(await readdir(c.install)).toEqual(['my-notes.txt'])
  })
})

describe('bad input loses nothing', () => {
  it('a tampered manifest or a path attack is refused before any write', async () => {
    const copy = join(dir, 'cdn-copy')
    await cp(f.cdn, copy, { recursive: true })
    const hostile: Fixture = { ...f, cdn: copy, pointerPath: join(copy, 'game', 'channels', 'stable.json') }
    const nothingWritten = async (c: { install: string }) => {
      const names = await readdir(dir)
      // The folder's lock file stays beside it by design (app/engine/install/dir-lock.ts).
      expect(names.filter((name) => (name.includes(basename(c.install)) && !name.endsWith('.shoal-lock')) || name === 'escape.pak')).toEqual([])
    }

    await forgeInto(hostile, (m) => void (m.files[0]!.path = '../escape.pak'))
    const attacked = client()
    expect((await get(attacked, hostile.pointerPath)).last).toMatchObject({ event: 'error', code: 'E_UNSAFE_PATH' })
    await nothingWritten(attacked)

    const manifestPath = join(copy, 'game', '1.0.0', 'manifest.json')
    const bytes = await readFile(manifestPath)
    bytes[200]! ^= 1
    await writeFile(manifestPath, bytes)
    const tampered = client()
    expect((await get(tampered, hostile.pointerPath)).last).toMatchObject({ event: 'error', code: 'E_MANIFEST_HASH' })
    await nothingWritten(tampered)
  })

  it("a one-chunk file is checked whole by its chunk's hash only when the manifest gives that same digest", async () => {
    const copy = join(dir, 'cdn-one-chunk')
    await cp(f.cdn, copy, { recursive: true })
    const forged: Fixture = { ...f, cdn: copy, pointerPath: join(copy, 'game', 'channels', 'stable.json') }
    // run.sh is a single chunk: a file SHA-256 that differs from the chunk's must still fail the install.
    await forgeInto(forged, (m) => {
      const script = m.files.find((file) => file.path === 'run.sh')!
      expect(script.chunks).toHaveLength(1)
      script.sha256 = '0'.repeat(64)
    })
    const c = client()
    const run = await get(c, forged.pointerPath)
    expect(run.last).toMatchObject({ event: 'error', code: 'E_IO' })
    expect(run.last['message']).toMatch(/run\.sh does not match the manifest's SHA-256/)
  })

  it.each<[Fault, string[]]>([
    ['ignore-range', []],
    ['truncate', []],
    ['retry-after', []],
    ['stall', ['--stall-timeout', '1s']],
    ['etag-change', []],
  ])('a CDN that misbehaves (%s) still gives a verified install', async (fault, extra) => {
    const server = await startFaultServer(f.cdn, fault)
    try {
      const c = client()
      const run = await get(c, channel(server.url, 'stable'), extra)
      expect(run.code, run.stderr).toBe(0)
      expect(await treeHash(c.install)).toEqual(v1Tree)
      if (fault === 'etag-change') expect(server.requests.some((r) => r.ifRange !== undefined)).toBe(true)
    } finally {
      await server.close()
    }
  })

  it('a CDN that returns wrong bytes is demoted; a good mirror completes the job; alone it fails naming the check', async () => {
    const server = await startFaultServer(f.cdn, 'wrong-bytes')
    try {
      const c = client()
      const withMirror = await get(c, channel(server.url, 'stable'), ['--mirror', `${nginx.url}/game/`])
      expect(withMirror.code, withMirror.stderr).toBe(0)
      expect(await treeHash(c.install)).toEqual(v1Tree)

      const alone = client()
      const run = await get(alone, channel(server.url, 'stable'))
      expect(run.last).toMatchObject({ event: 'error', code: 'E_FETCH' })
      expect(run.stderr).toContain(server.url)
      expect(run.stderr).toMatch(/failed SHA-256 verification/)
      expect(await readdir(dir)).not.toContain(basename(alone.install))
    } finally {
      await server.close()
    }
  })

  it('a kill -9 during the download resumes without fetching verified chunks again', async () => {
    const c = client()
    const cli = fileURLToPath(new URL('../../app/cli/shoal.ts', import.meta.url))
    const child = spawn(process.execPath, [cli, 'get', channel(nginx.url, 'stable'), '--pubkey', join(f.keyDir, 'publisher.pub'), '--dir', c.install, '--limit-down', '12MiB', '--connections', '1', '--json'], {
      env: { ...process.env, SHOAL_DATA_DIR: c.data },
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    // Kill on progress, not on a clock. One connection places 8 MiB ranges one after another, so
    // at 40 MiB the checkpoints (every 16 MiB or 1 s) hold at least 32 MiB and 24 MiB are still to come.
    await new Promise<void>((resolve) => {
      let out = ''
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        const placed = out.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { done?: number }).done ?? 0)
        if (Math.max(0, ...placed) >= 40 * 1024 * 1024) resolve()
      })
    })
    child.kill('SIGKILL')
    await new Promise((r) => child.once('exit', r))
    await expect(readdir(c.install)).rejects.toThrow()
    const rerun = await get(c, channel(nginx.url, 'stable'))
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(rerun.last).toMatchObject({ resumed: true })
    expect(await treeHash(c.install)).toEqual(v1Tree)
    expect((rerun.last['bytes'] as { cdn: number }).cdn).toBeLessThan(BIG * 0.8)
  })
})
