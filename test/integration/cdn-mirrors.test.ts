// Mirrors that redirect, and mirrors that trickle: real servers on 127.0.0.1 (nginx, the fault
// server, a redirecting front), a real `shoal get` process each time.
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFaultServer } from '../support/fault-server.ts'
import { startNginx, type Nginx } from '../support/nginx.ts'
import { startRedirectServer } from '../support/redirect-server.ts'
import { clientFactory, type Client } from '../support/release-pair.ts'
import { makeFixture, type Fixture } from '../support/release-fixture.ts'
import { runCli } from '../support/run-cli.ts'
import { treeHash } from '../support/tree-hash.ts'

let dir: string
let f: Fixture
let nginx: Nginx
let tree: Record<string, string>
const run = promisify(execFile)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-mirrors-'))
  const fixture = await makeFixture(dir, 16 * 1024 * 1024)
  f = fixture
  const published = await f.publish(fixture.build, '1.0.0')
  if (published.code !== 0) throw new Error(published.stderr)
  tree = await treeHash(fixture.build)
  nginx = await startNginx(f.cdn, join(dir, 'nginx'))
}, 120_000)

afterAll(async () => {
  await nginx?.stop()
  await rm(dir, { recursive: true, force: true })
})

const client = clientFactory(() => dir)
const channel = (base: string) => `${base}/game/channels/stable.json`

function get(c: Client, url: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  return runCli(['get', url, '--pubkey', join(f.keyDir, 'publisher.pub'), '--dir', c.install, '--json', ...extra], { SHOAL_DATA_DIR: c.data, ...env })
}

/**
 * Runs `body` and checks that nothing appeared or vanished beside the fixture but what the
 * clients it returns own: install, data dir, the previous version, the staging kept for a resume,
 * and the install's lock file (it stays beside the install by design).
 */
async function ownFoldersOnly(body: () => Promise<Client[]>): Promise<void> {
  const before = await readdir(dir)
  const clients = await body()
  const own = new Set(clients.flatMap((c) => [c.install, c.data, c.backup, `${dirname(c.install)}/.${basename(c.install)}.shoal-staging`, `${dirname(c.install)}/.${basename(c.install)}.shoal-lock`, `${dirname(c.install)}/.${basename(c.install)}.shoal-release`].map((p) => basename(p))))
  const after = await readdir(dir)
  expect(after.filter((name) => !own.has(name)).sort()).toEqual(before.filter((name) => !own.has(name)).sort())
}

describe('a mirror that redirects', () => {
  it('to an edge host, over two hops (a relative 302, then an absolute 307), installs; the edge gets Range and If-Range', async () => {
    const edge = await startFaultServer(f.cdn, 'none')
    const front = await startRedirectServer({ to: (path) => (path.startsWith('/hop/') ? { location: `${edge.url}${path.slice(4)}`, status: 307 } : { location: `/hop${path}` }) })
    try {
      await ownFoldersOnly(async () => {
        const c = client()
        // A cap makes the client ask for the store in several steps, so later ones carry If-Range.
        const run = await get(c, channel(front.url), ['--limit-down', '256MiB'])
        expect(run.code, run.stderr).toBe(0)
        expect(await treeHash(c.install)).toEqual(tree)
        return [c]
      })
      expect(front.requests.filter((r) => r.range !== undefined).length).toBeGreaterThan(1)
      expect(edge.requests.length).toBeGreaterThan(1)
      expect(edge.requests.every((r) => r.range !== undefined)).toBe(true)
      expect(edge.requests.some((r) => r.ifRange === '"v1"')).toBe(true)
    } finally {
      await front.close()
      await edge.close()
    }
  })

  it('in a loop is given up after a bounded number of hops (E_FETCH naming it); beside a good mirror the install completes', async () => {
    // Pointer and manifest go to nginx; the chunk store redirects to itself.
    const loop = await startRedirectServer({ to: (path, self) => ({ location: `${path.endsWith('.chunks') ? self : nginx.url}${path}` }) })
    try {
      await ownFoldersOnly(async () => {
        const alone = client()
        const run = await get(alone, channel(loop.url))
        expect(run.last).toMatchObject({ event: 'error', code: 'E_FETCH', message: expect.stringMatching(/more than 5 redirects/) })
        await expect(readdir(alone.install)).rejects.toThrow()

        const c = client()
        const withMirror = await get(c, channel(nginx.url), ['--mirror', `${loop.url}/game/`])
        expect(withMirror.code, withMirror.stderr).toBe(0)
        expect(await treeHash(c.install)).toEqual(tree)
        return [alone, c]
      })
    } finally {
      await loop.close()
    }
  })

  it('from https to http is refused (E_FETCH naming it); as a --mirror it is passed over and the install completes', async () => {
    const tls = await mkdtemp(join(tmpdir(), 'shoal-tls-'))
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', join(tls, 'key.pem'), '-out', join(tls, 'cert.pem')])
    const front = await startRedirectServer({ to: (path) => ({ location: `${nginx.url}${path}` }), tls: { key: await readFile(join(tls, 'key.pem'), 'utf8'), cert: await readFile(join(tls, 'cert.pem'), 'utf8') } })
    const trust = { NODE_EXTRA_CA_CERTS: join(tls, 'cert.pem') }
    try {
      await ownFoldersOnly(async () => {
        const alone = client()
        const refused = await get(alone, channel(front.url), [], trust)
        expect(refused.last).toMatchObject({ event: 'error', code: 'E_FETCH', message: expect.stringMatching(/from https to http/) })
        await expect(readdir(alone.install)).rejects.toThrow()

        const c = client()
        const withMirror = await get(c, channel(nginx.url), ['--mirror', `${front.url}/game/`], trust)
        expect(withMirror.code, withMirror.stderr).toBe(0)
        expect(await treeHash(c.install)).toEqual(tree)
        return [alone, c]
      })
      expect(front.requests.some((r) => r.range !== undefined)).toBe(true)
    } finally {
      await front.close()
      await rm(tls, { recursive: true })
    }
  })
})

describe('a mirror that trickles (a few bytes a second, never silent)', () => {
  it('is cut and demoted, and a healthy --mirror completes the install; alone, it fails naming the trickle', async () => {
    const trickle = await startFaultServer(f.cdn, 'trickle')
    try {
      await ownFoldersOnly(async () => {
        const c = client()
        const run = await get(c, channel(trickle.url), ['--mirror', `${nginx.url}/game/`, '--stall-timeout', '1s'])
        expect(run.code, run.stderr).toBe(0)
        expect(await treeHash(c.install)).toEqual(tree)
        expect(trickle.requests.length).toBeGreaterThan(0)

        const alone = client()
        const failed = await get(alone, channel(trickle.url), ['--stall-timeout', '1s'])
        expect(failed.last).toMatchObject({ event: 'error', code: 'E_FETCH', message: expect.stringMatching(/trickled at \d+ B\/s over 1000 ms, below the floor of 1024 B\/s/) })
        await expect(readdir(alone.install)).rejects.toThrow()
        return [c, alone]
      })
    } finally {
      await trickle.close()
    }
  })
})
