import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import parseTorrent from 'parse-torrent'
import { afterEach, describe, expect, it } from 'vitest'
import { buildProgram } from '../../app/cli/program.ts'
import { usesLanDiscovery } from '../../app/engine/sources/peers/discovery-policy.ts'
import { forgeInto, makeFixture } from '../support/release-fixture.ts'
import { startCli } from '../support/long-running-cli.ts'
import { createLab, netnsUnavailable, waitForUdpListener } from '../support/netns.ts'
import { type Bytes, type Written } from '../support/installed-release.ts'
import { startNginx } from '../support/nginx.ts'
import { runCli } from '../support/run-cli.ts'
import { useTempDirs } from '../support/temp-dir.ts'
import { treeHash } from '../support/tree-hash.ts'

const tempDir = useTempDirs()
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})


describe('release scope', () => {
  it('decides LAN discovery unless the client chooses, and a manifest without a scope counts as private', () => {
    expect(usesLanDiscovery('lan', undefined)).toBe(true)
    expect(usesLanDiscovery('public', undefined)).toBe(true)
    expect(usesLanDiscovery('private', undefined)).toBe(false)
    expect(usesLanDiscovery(undefined, undefined)).toBe(false)
    expect(usesLanDiscovery('lan', false)).toBe(false)
    expect(usesLanDiscovery('private', true)).toBe(true)
  })

  it('stays off for every process a test starts: SHOAL_NO_LSD is set, and get, verify, seed and agent read it as --no-lsd', () => {
    expect(process.env['SHOAL_NO_LSD']).toBeDefined()
    for (const name of ['get', 'verify', 'seed', 'agent']) {
      const command = buildProgram().commands.find((c) => c.name() === name)!
      expect(command.options.find((o) => o.long === '--no-lsd')?.envVar, name).toBe('SHOAL_NO_LSD')
    }
  })

  it('is signed into the manifest (lan by default); only a public release drops the torrent private flag; older manifests still install', async () => {
    const dir = await tempDir()
    const f = await makeFixture(dir, 1024 * 1024)
    const key = join(f.keyDir, 'publisher.key')
    const publish = (product: string, scope: string[]) => runCli(['publish', f.build, '--product', product, '--version', '1.0.0', '--channel', 'stable', '--key', key, '--out', f.cdn, '--json', ...scope])
    for (const [product, scope, expected, privateFlag] of [['dflt', [], 'lan', true], ['priv', ['--scope', 'private'], 'private', true], ['pub', ['--scope', 'public'], 'public', false]] as const) {
      const run = await publish(product, [...scope])
      expect(run.code, run.stderr).toBe(0)
      expect(run.last['scope']).toBe(expected)
      const inspected = await runCli(['inspect', join(f.cdn, product, 'channels', 'stable.json'), '--pubkey', join(f.keyDir, 'publisher.pub'), '--json'])
      expect(inspected.code, inspected.stderr).toBe(0)
      const torrent = await parseTorrent(await readFile(join(f.cdn, product, '1.0.0', 'pack.torrent')))
      expect(Boolean(torrent.private), product).toBe(privateFlag)
    }
    expect((await publish('bad', ['--scope', 'world'])).code).toBe(2)

    // A manifest from before scopes: no field at all. It verifies and installs (without LAN discovery).
    expect((await f.publish(f.build, '1.0.0')).code).toBe(0)
    await forgeInto(f, (m) => {
      delete m.scope
    })
    expect((await f.readManifest('1.0.0')).scope).toBeUndefined()
    const got = await runCli(['get', f.pointerPath, '--pubkey', join(f.keyDir, 'publisher.pub'), '--dir', join(dir, 'install'), '--json'], { SHOAL_DATA_DIR: join(dir, 'data') })
    expect(got.code, got.stderr).toBe(0)
    expect(await treeHash(join(dir, 'install'))).toEqual(await treeHash(f.build))
  })
})

// LAN discovery multicasts out of every interface: it runs only inside namespaces made here.
const skipReason = await netnsUnavailable()
if (skipReason) console.log(`lan-discovery: skipping the namespace tests: ${skipReason}`)

describe('LAN discovery and source classes across two subnets', () => {
  it.skipIf(skipReason !== undefined)(
    'a client on the seeder subnet finds it by LSD alone (lan); a client behind the router reaches it through the tracker (wan)',
    async () => {
      const dir = await tempDir()
      const size = 8 * 1024 * 1024
      const f = await makeFixture(dir, size)
      expect((await f.publish(f.build, '1.0.0', ['--scope', 'lan'])).code).toBe(0)
      // 198.18.0.0/15 is reserved for benchmarks: not a private range, and it never leaves the
      // machine. Hosts on one /24 are lan by the same-subnet rule; across the router they are wan.
      const lab = await createLab({ subnets: { a: '198.18.1', b: '198.18.2' }, hosts: { seedA: 'a', getA: 'a', getB: 'b' } })
      cleanups.push(() => lab.close())
      const { seedA, getA, getB } = lab.hosts as Record<'seedA' | 'getA' | 'getB', (typeof lab.hosts)[string]>
      const routerA = lab.router.addresses['a']!

      const nginx = await startNginx(f.cdn, join(dir, 'nginx'), { host: routerA, port: 8080, wrap: lab.router.wrap })
      cleanups.push(() => nginx.stop())
      const tracker = startCli(['tracker', '--host', routerA, '--port', '8000'], {}, lab.router.wrap)
      cleanups.push(() => tracker.stop())
      const { announce } = (await tracker.waitFor('listening')) as { announce: string }

      const channel = `${nginx.url}/game/channels/stable.json`
      const pub = join(f.keyDir, 'publisher.pub')
      // The test run keeps LAN discovery off (vitest.config.ts); these processes live in the lab.
      const env = (name: string) => ({ SHOAL_DATA_DIR: join(dir, `data-${name}`), SHOAL_NO_LSD: undefined })
      const get = (name: string, host: typeof seedA, extra: string[] = []) => runCli(['get', channel, '--pubkey', pub, '--dir', join(dir, name), '--json', ...extra], env(name), host.wrap)

      const seederInstall = await get('seeder', seedA, ['--no-lsd'])
      expect(seederInstall.code, seederInstall.stderr).toBe(0)
      expect((seederInstall.last['bytes'] as Bytes).cdn).toBeGreaterThan(0)
      const seeder = startCli(['seed', '--dir', join(dir, 'seeder'), '--pubkey', pub, '--tracker', announce], env('seeder'), seedA.wrap)
      cleanups.push(() => seeder.stop())
      expect(await seeder.waitFor('seeding')).toMatchObject({ lsd: true })
      await waitForUdpListener(seedA, 6771)
      // Same subnet, no --peer and no tracker: only LAN discovery can find the seeder. With no peer
      // in sight the CDN starts at once, so it serves what it takes before the seeder's wire is up.
      // The seeder loads its swarm when it hears the client, then dials it: capped, the CDN cannot
      // bring all 8 MiB before that on a busy machine.
      const a = await get('a', getA, ['--limit-down', '2MiB'])
      expect(a.code, a.stderr).toBe(0)
      const aBytes = a.last['bytes'] as Bytes
      const aWritten = a.last['written'] as Written
      console.log(`lan-discovery: client on subnet A: bytes ${JSON.stringify(aBytes)}, written ${JSON.stringify(aWritten)}, total ${a.last['totalBytes']}`)
      expect(aBytes.wan).toBe(0)
      expect(aWritten.lan).toBeGreaterThan(0)
      expect(aWritten).toEqual({ cdn: aWritten.cdn, lan: (a.last['totalBytes'] as number) - aWritten.cdn, wan: 0, local: 0 })
      const cdnBefore = await nginx.bodyBytesSent(/pack\.chunks/)
      expect(await treeHash(join(dir, 'a'))).toEqual(await treeHash(f.build))

      // The other subnet: LAN discovery does not cross the router, the tracker does, and the bytes are wan.
      // Offload only: on loopback the CDN outruns the peer, and the finish bound would use it.
      const b = await get('b', getB, ['--tracker', announce, '--finish-slip', 'off'])
      expect(b.code, b.stderr).toBe(0)
      const bBytes = b.last['bytes'] as Bytes
      const bWritten = b.last['written'] as Written
      console.log(`lan-discovery: client on subnet B: bytes ${JSON.stringify(bBytes)}, written ${JSON.stringify(bWritten)}, total ${b.last['totalBytes']}`)
      expect(bBytes).toMatchObject({ cdn: 0, lan: 0 })
      expect(bBytes.wan).toBeGreaterThanOrEqual(b.last['totalBytes'] as number)
      expect(bWritten).toEqual({ cdn: 0, lan: 0, wan: b.last['totalBytes'], local: 0 })
      expect(await treeHash(join(dir, 'b'))).toEqual(await treeHash(f.build))
      expect(await nginx.bodyBytesSent(/pack\.chunks/)).toBe(cdnBefore)

      // --no-lsd overrides the lan scope: beside the same seeder, the CDN serves everything.
      const quiet = await get('quiet', getA, ['--no-lsd'])
      expect(quiet.code, quiet.stderr).toBe(0)
      expect(quiet.last['bytes']).toMatchObject({ lan: 0, wan: 0 })
      expect((quiet.last['bytes'] as Bytes).cdn).toBeGreaterThan(0)

      const { code, events } = await seeder.stop()
      expect(code).toBe(0)
      expect(events.at(-1)!['uploaded'] as number).toBeGreaterThanOrEqual(aWritten.lan + (b.last['totalBytes'] as number))
    },
    120_000,
  )
})
