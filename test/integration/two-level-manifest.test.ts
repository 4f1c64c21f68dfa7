import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seededBytes } from '../../app/demo/sample-build.ts'
import { decodeSignedManifest, encodeManifest } from '../../app/release/manifest-codec.ts'
import { chunkList, localObjects } from '../../app/release/manifest-objects.ts'
import type { TopManifest } from '../../shared/release-schema.ts'
import type { Nginx } from '../support/nginx.ts'
import { clientFactory, serveReleasePair } from '../support/release-pair.ts'
import { makeFixture, type Fixture } from '../support/release-fixture.ts'
import { runCli } from '../support/run-cli.ts'
import { treeHash } from '../support/tree-hash.ts'

const FILES = 50
const CHANGED = [7, 23, 41]

let dir: string
let f: Fixture
let nginx: Nginx
let v2Tree: Record<string, string>

/** 50 files of 20-120 KB; v2 rewrites three of them. */
async function writeBuilds(): Promise<[string, string]> {
  const [v1, v2] = [join(dir, 'v1'), join(dir, 'v2')]
  for (const root of [v1, v2]) {
    for (let i = 0; i < FILES; i++) {
      await mkdir(join(root, `dir${i % 5}`), { recursive: true })
      const seed = root === v2 && CHANGED.includes(i) ? `two-level-${i}-changed` : `two-level-${i}`
      await writeFile(join(root, `dir${i % 5}`, `file${i}.bin`), seededBytes(seed, 20_000 + ((i * 7919) % 100_000)))
    }
  }
  return [v1, v2]
}

/** The access log's lines from `from` on: status, body bytes and request line of each. */
async function requests(from: number): Promise<{ body: number; status: number; request: string }[]> {
  const lines = (await readFile(nginx.accessLog, 'utf8')).split('\n').filter(Boolean).slice(from)
  return lines.map((line) => {
    const [, body, status] = line.split(' ')
    return { body: Number(body), status: Number(status), request: line.slice(line.indexOf('"')) }
  })
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-two-level-'))
  f = await makeFixture(dir, 1024)
  const [v1, v2] = await writeBuilds()
  ;({ nginx, v2Tree } = await serveReleasePair(f, dir, v1, v2))
}, 120_000)

afterAll(async () => {
  await nginx?.stop()
  await rm(dir, { recursive: true, force: true })
})

const client = clientFactory(() => dir)
const get = (install: string, data: string, channel: string) => runCli(['get', `${nginx.url}/game/channels/${channel}.json`, '--pubkey', join(f.keyDir, 'publisher.pub'), '--dir', install, '--json'], { SHOAL_DATA_DIR: data })

describe('two-level manifest over nginx', () => {
  it('an update fetches the signed top, then only the changed files’ chunk lists and the new sections’ tables', async () => {
    const c = client()
    expect((await get(c.install, c.data, 'stable')).code).toBe(0)
    const top = decodeSignedManifest(await readFile(join(f.cdn, 'game', '1.1.0', 'manifest.json')), f.pub)
    if (top.schema !== 2) throw new Error('1.1.0 was not published as a two-level manifest')
    const v1 = await f.readManifest('1.0.0')
    const v2 = await f.readManifest('1.1.0')

    // What the client cannot rebuild from 1.0.0: exactly the changed files' lists and 1.1.0's tables.
    const have = localObjects(v1)
    const missing = top.top.objects.filter((o) => !have.has(o.sha256))
    const expected = new Set([...CHANGED.map((i) => chunkList(v2.files.find((file) => file.path === `dir${i % 5}/file${i}.bin`)!.chunks).sha256), ...tablesOf(top.top, '1.1.0')])
    expect(new Set(missing.map((o) => o.sha256))).toEqual(expected)

    const from = (await requests(0)).length
    const update = await get(c.install, c.data, 'beta')
    expect(update.code, update.stderr).toBe(0)
    expect(await treeHash(c.install)).toEqual(v2Tree)
    const seen = await requests(from)
    const index = seen.filter((r) => r.request.includes('/index '))
    expect(index.every((r) => r.status === 206 && r.request.includes('/game/1.1.0/index '))).toBe(true)
    const indexBytes = index.reduce((n, r) => n + r.body, 0)
    expect(indexBytes).toBe(missing.reduce((n, o) => n + o.size, 0))
    // The top comes as a delta against 1.0.0's, which the client holds: neither the file nor its compressed copy.
    const tops = seen.filter((r) => r.request.includes('/game/1.1.0/manifest'))
    expect(tops.map((r) => r.request.split(' ')[1])).toEqual(['/game/1.1.0/manifest.from-1.0.0.patch'])
    const topBytes = tops[0]!.body
    const compressed = (await readFile(join(f.cdn, 'game', '1.1.0', 'manifest.json.zst'))).length
    const oneLevel = encodeManifest(v2, f.key).length
    console.log(`update of ${FILES} files, 3 changed: manifest bytes ${topBytes} top delta (the compressed top: ${compressed}) + ${indexBytes} in ${index.length} index range(s) = ${topBytes + indexBytes}; one-level manifest ${oneLevel}`)
    expect(topBytes).toBeLessThan(compressed / 4)
    expect(topBytes + indexBytes).toBeLessThan(oneLevel)

    // Up to date: the stored bundle's top is the pointer's manifest, so only the pointer is fetched.
    const again = await get(c.install, c.data, 'beta')
    expect(again.last).toMatchObject({ event: 'done', upToDate: true })
    expect((await requests(from + seen.length)).map((r) => r.request.split(' ')[1])).toEqual(['/game/channels/beta.json'])
  })

  it('a fresh install fetches every object, and inspect reports the top and the object bytes', async () => {
    const c = client()
    const from = (await requests(0)).length
    expect((await get(c.install, c.data, 'beta')).code).toBe(0)
    expect(await treeHash(c.install)).toEqual(v2Tree)
    const indexRequests = (await requests(from)).filter((r) => r.request.includes('/index '))
    expect(new Set(indexRequests.map((r) => r.request.split(' ')[1]))).toEqual(new Set(['/game/1.0.0/index', '/game/1.1.0/index']))
    const inspect = await runCli(['inspect', `${nginx.url}/game/channels/beta.json`, '--pubkey', join(f.keyDir, 'publisher.pub'), '--json'])
    expect(inspect.code).toBe(0)
    const top = await readFile(join(f.cdn, 'game', '1.1.0', 'manifest.json.zst'))
    expect(inspect.last).toMatchObject({ manifestBytes: top.length, fetchedObjects: expect.any(Number) as number })
    expect(inspect.last['objectBytes']).toBeGreaterThan(0)
  })
})

function tablesOf(top: TopManifest, version: string): string[] {
  return top.pack.sections.filter((s) => s.version === version || s.store.path.startsWith(`${version}/`)).map((s) => top.objects[s.table]!.sha256)
}
