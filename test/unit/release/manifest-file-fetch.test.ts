import { createPrivateKey, createPublicKey } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seededBytes } from '../../../app/demo/sample-build.ts'
import { decodePointer } from '../../../app/release/manifest-codec.ts'
import { fetchManifestFile } from '../../../app/release/manifest-file-fetch.ts'
import { manifestForms } from '../../../app/release/manifest-forms.ts'
import { publish } from '../../../app/release/publish.ts'
import { generateKeyPair } from '../../../app/release/signing.ts'
import type { ChannelPointer } from '../../../shared/release-schema.ts'
const pair = generateKeyPair()
const privateKey = createPrivateKey(pair.privatePem)
const publicKey = createPublicKey(pair.publicPem)

let dir: string
let root: string
let productRoot: URL
/** Each version's pointer, as its channel named it when it was published. */
const pointers = new Map<string, ChannelPointer>()
const published = new Map<string, Awaited<ReturnType<typeof publish>>>()
const file = (path: string) => readFile(join(root, path))

/** Three versions of a 40-file build, each changing one file. */
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-manifest-forms-'))
  root = join(dir, 'cdn', 'game')
  productRoot = pathToFileURL(root + '/')
  const build = join(dir, 'build')
  await mkdir(build)
  for (let i = 0; i < 40; i++) await writeFile(join(build, `f${i}.bin`), seededBytes(`forms-${i}`, 2_000 + i * 100))
  for (const [version, changed] of [['1.0.0', -1], ['1.1.0', 3], ['1.2.0', 17]] as const) {
    if (changed >= 0) await writeFile(join(build, `f${changed}.bin`), seededBytes(`forms-${changed}-${version}`, 2_500))
    const result = await publish({ buildDir: build, product: 'game', version, channel: 'stable', privateKey, cdnRoot: join(dir, 'cdn'), trackers: [], mirrors: [], pieceLength: undefined, chunking: {}, expiresInMs: 86_400_000, allowDowngrade: false, now: () => new Date() })
    published.set(version, result)
    pointers.set(version, decodePointer(await file('channels/stable.json'), publicKey))
  }
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('the manifest file a pointer names', () => {
  it('is listed with a compressed copy and a delta from each of the two previous versions, each much smaller', async () => {
    const named = pointers.get('1.2.0')!.manifest
    expect(named.zstd!.size).toBe((await file('1.2.0/manifest.json.zst')).length)
    expect(named.deltas!.map((d) => [d.from, d.path])).toEqual([['1.1.0', '1.2.0/manifest.from-1.1.0.patch'], ['1.0.0', '1.2.0/manifest.from-1.0.0.patch']])
    for (const d of named.deltas!) expect(d.size).toBeLessThan(named.zstd!.size / 4)
    expect(pointers.get('1.0.0')!.manifest.deltas).toBeUndefined()
    expect(published.get('1.2.0')).toMatchObject({ manifestBytes: named.zstd!.size, manifestDeltas: named.deltas!.map((d) => ({ from: d.from, bytes: d.size })) })
  })

  it('comes from a delta against the installed version’s file, and is that file byte for byte', async () => {
    const want = await file('1.2.0/manifest.json')
    for (const from of ['1.0.0', '1.1.0']) {
      const got = await fetchManifestFile(pointers.get('1.2.0')!, productRoot, { version: from, file: await file(`${from}/manifest.json`) })
      expect(got.via, from).toBe('delta')
      expect(got.bytes.equals(want)).toBe(true)
      expect(got.fetched).toBe((await file(`1.2.0/manifest.from-${from}.patch`)).length)
    }
  })

  it('is the installed file itself, fetching nothing, while the pointer still names it', async () => {
    const installed = await file('1.2.0/manifest.json')
    expect(await fetchManifestFile(pointers.get('1.2.0')!, productRoot, { version: '1.2.0', file: installed })).toMatchObject({ via: 'installed', fetched: 0 })
  })

  it('comes compressed when no delta rebuilds it: another version, an installed file that differs, a damaged or missing delta', async () => {
    const pointer = pointers.get('1.2.0')!
    const zstd = pointer.manifest.zstd!.size
    const v1 = await file('1.0.0/manifest.json')
    const delta = (await file('1.2.0/manifest.from-1.0.0.patch')).length
    const altered = Buffer.from(v1)
    altered[altered.length >> 1]! ^= 1
    expect(await fetchManifestFile(pointer, productRoot, { version: '0.9.0', file: v1 })).toMatchObject({ via: 'zstd', fetched: zstd })
    expect(await fetchManifestFile(pointer, productRoot)).toMatchObject({ via: 'zstd', fetched: zstd })
    const fromAltered = await fetchManifestFile(pointer, productRoot, { version: '1.0.0', file: altered })
    expect(fromAltered).toMatchObject({ via: 'zstd', fetched: delta + zstd })
    expect(fromAltered.bytes.equals(await file('1.2.0/manifest.json'))).toBe(true)

    const patchPath = join(root, '1.2.0', 'manifest.from-1.0.0.patch')
    const good = await readFile(patchPath)
    try {
      const damaged = Buffer.from(good)
      damaged[damaged.length - 3]! ^= 0x40
      await writeFile(patchPath, damaged)
      expect(await fetchManifestFile(pointer, productRoot, { version: '1.0.0', file: v1 })).toMatchObject({ via: 'zstd' })
      await rm(patchPath)
      expect(await fetchManifestFile(pointer, productRoot, { version: '1.0.0', file: v1 })).toMatchObject({ via: 'zstd', fetched: zstd })
    } finally {
      await writeFile(patchPath, good)
    }
  })

  it('a damaged compressed copy is E_MANIFEST_HASH; a pointer that names no copy gets the file itself', async () => {
    const pointer = pointers.get('1.1.0')!
    const zstdPath = join(root, '1.1.0', 'manifest.json.zst')
    const good = await readFile(zstdPath)
    try {
      const damaged = Buffer.from(good)
      damaged[damaged.length >> 1]! ^= 0x10
      await writeFile(zstdPath, damaged)
      await expect(fetchManifestFile(pointer, productRoot)).rejects.toMatchObject({ code: 'E_MANIFEST_HASH' })
    } finally {
      await writeFile(zstdPath, good)
    }
    const plain = { ...pointer, manifest: { path: pointer.manifest.path, sha256: pointer.manifest.sha256, size: pointer.manifest.size } }
    expect(await fetchManifestFile(plain, productRoot)).toMatchObject({ via: 'file', fetched: pointer.manifest.size })
  })

  it('gets no delta from an earlier file that shares nothing with it: the compressed copy costs less', async () => {
    const current = await file('1.2.0/manifest.json')
    expect(manifestForms(current, [{ version: '0.1.0', file: seededBytes('unrelated', current.length) }]).deltas).toEqual([])
    expect(manifestForms(current, [{ version: '1.1.0', file: await file('1.1.0/manifest.json') }]).deltas).toHaveLength(1)
  })
})
