import { createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { zstdCompressSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { isShoalError } from '../../../shared/errors.ts'
import { RELEASE_LIMITS, type Manifest, type TopManifest } from '../../../shared/release-schema.ts'
import { seededBytes } from '../../../app/demo/sample-build.ts'
import { readPublishedManifest } from '../../../app/release/cdn-manifest.ts'
import { applyPatch } from '../../../app/release/file-patch.ts'
import { decodeManifest, decodeSignedManifest, encodeBundle, encodeManifest, encodeTop, manifestFileSha256, storedManifestPaths } from '../../../app/release/manifest-codec.ts'
import { manifestForms } from '../../../app/release/manifest-forms.ts'
import { chunkList, hydrate, inflateObject, LIST_ITEM_BYTES, localObjects, sectionTable, splitManifest, storeObject, TABLE_ITEM_BYTES } from '../../../app/release/manifest-objects.ts'
import { fetchObjects } from '../../../app/release/object-fetch.ts'
import { publish } from '../../../app/release/publish.ts'
import { generateKeyPair } from '../../../app/release/signing.ts'
import { pathToFileURL } from 'node:url'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()
const pair = generateKeyPair()
const privateKey = createPrivateKey(pair.privatePem)
const publicKey = createPublicKey(pair.publicPem)

function codeOf(work: () => unknown): string {
  try {
    work()
  } catch (err) {
    return isShoalError(err) ? err.code : String(err)
  }
  return 'ok'
}

/** Publishes two releases of a small build (the second changes one file) and returns the second's top and raw objects. */
async function twoReleases(): Promise<{ productRoot: string; top: TopManifest; topFile: Buffer; raws: Buffer[]; full: Manifest; earlier: Manifest }> {
  const dir = await tempDir()
  const build = join(dir, 'build')
  await mkdir(build)
  for (let i = 0; i < 6; i++) await writeFile(join(build, `f${i}.bin`), seededBytes(`objects-${i}`, 50_000 + i * 30_000))
  await writeFile(join(build, 'empty.txt'), '')
  const release = (version: string) => publish({ buildDir: build, product: 'objects', version, channel: 'stable', privateKey, cdnRoot: join(dir, 'cdn'), trackers: [], mirrors: [], pieceLength: undefined, chunking: {}, patchFromVersions: 0, expiresInMs: 86_400_000, allowDowngrade: false, now: () => new Date() })
  await release('1.0.0')
  await writeFile(join(build, 'f2.bin'), seededBytes('objects-2-changed', 90_000))
  const second = await release('1.1.0')
  const productRoot = join(dir, 'cdn', 'objects')
  const topFile = await readFile(join(productRoot, '1.1.0', 'manifest.json'))
  const signed = decodeSignedManifest(topFile, publicKey)
  if (signed.schema !== 2) throw new Error('publish wrote a schema-1 manifest')
  const { raws } = await fetchObjects(signed.top, new Map(), pathToFileURL(productRoot + '/'), 'test')
  const earlier = (await readPublishedManifest(productRoot, '1.0.0/manifest.json', publicKey)).manifest
  return { productRoot, top: signed.top, topFile, raws, full: second.manifest, earlier }
}

describe('two-level manifest', () => {
  it('hydrates a published top and its objects back into the full manifest; objects the earlier release has are referenced, not written again', async () => {
    const { top, raws, full, earlier } = await twoReleases()
    expect(hydrate(top, raws, 'test')).toEqual(full)
    // The unchanged files' lists and 1.0.0's section table are 1.0.0's objects; only the changed list and the new table are 1.1.0's.
    const own = top.objects.filter((o) => o.path === '1.1.0/index')
    expect(own).toHaveLength(2)
    const have = localObjects(earlier)
    expect(top.objects.filter((o) => !have.has(o.sha256))).toEqual(own)
    // An empty file's list and an empty table would be the same object; here the empty file's list is 1.0.0's.
    expect(top.objects.find((o) => o.items === 0)?.path).toBe('1.0.0/index')
  })

  it('stores a chunk list as its differences when smaller, and rebuilds it exactly; a table never, and a table that claims it is refused', () => {
    const running = chunkList(Array.from({ length: 500 }, (_, i) => 1_000 + i))
    const scattered = chunkList([7, 3, 0xffff_fff0, 2, 2, 9])
    const table = sectionTable({ chunks: { sha256: randomBytes(32 * 3).toString('base64'), size: [5, 6, 7], stored: [5, 6, 7] } }, { firstChunk: 0, chunkCount: 3 })
    const at = { path: '1.0.0/index', offset: 0 }
    const runningStored = storeObject(running)
    expect(runningStored.coding).toBe('delta')
    expect(runningStored.stored.length).toBeLessThan(zstdCompressSync(running.raw).length / 10)
    expect(inflateObject(runningStored.stored, { ...at, size: runningStored.stored.length, items: running.items, sha256: running.sha256, coding: 'delta' }, LIST_ITEM_BYTES, 'test')).toEqual(running.raw)
    // Differences wrap around 2^32 and back.
    const coded = zstdCompressSync(Buffer.from(Uint32Array.from([7, 0xffff_fffc, 0xffff_ffed, 0x12, 0, 7]).buffer))
    expect(inflateObject(coded, { ...at, size: coded.length, items: scattered.items, sha256: scattered.sha256, coding: 'delta' }, LIST_ITEM_BYTES, 'test')).toEqual(scattered.raw)
    expect(storeObject(table).coding).toBeUndefined()
    const stored = storeObject(table).stored
    expect(codeOf(() => inflateObject(stored, { ...at, size: stored.length, items: 3, sha256: table.sha256, coding: 'delta' }, TABLE_ITEM_BYTES, 'test'))).toBe('E_SCHEMA')
  })

  it('refuses an object that does not match its hash (E_MANIFEST_HASH), in memory and in the index file', async () => {
    const { productRoot, top, raws } = await twoReleases()
    const bad = raws.map((r) => Buffer.from(r))
    const listed = top.files.find((f) => top.objects[f.list]!.items > 0)!.list
    bad[listed]![0]! ^= 1
    expect(codeOf(() => hydrate(top, bad, 'test'))).toBe('E_MANIFEST_HASH')
    // A flipped stored byte either fails zstd or the hash: both are E_MANIFEST_HASH.
    const own = top.objects.find((o) => o.path === '1.1.0/index')!
    const index = join(productRoot, '1.1.0', 'index')
    const bytes = await readFile(index)
    bytes[own.offset + own.size - 2]! ^= 1
    await writeFile(index, bytes)
    await expect(readPublishedManifest(productRoot, '1.1.0/manifest.json', publicKey)).rejects.toMatchObject({ code: 'E_MANIFEST_HASH' })
    // An object swapped for another honest one is the wrong length or hash: refused.
    const swapped = [...raws]
    swapped[top.pack.sections[0]!.table] = raws[listed]!
    expect(codeOf(() => hydrate(top, swapped, 'test'))).toMatch(/^E_(MANIFEST_HASH|SCHEMA)$/)
    // A validly signed but hostile top: an object out of range, a table of the wrong length, an object nothing uses.
    const hostile: [string, (t: TopManifest) => void, RegExp][] = [
      ['table out of range', (t) => void (t.pack.sections[0]!.table = t.objects.length), /^E_SCHEMA$/],
      ['table of another length', (t) => void (t.pack.sections[0]!.chunkCount += 1), /^E_SCHEMA$/],
      ['unused object', (t) => void t.objects.push({ ...t.objects[0]!, sha256: '0'.repeat(64) }), /^E_(SCHEMA|LIMIT)$/],
    ]
    for (const [name, edit, code] of hostile) {
      const t = structuredClone(top)
      edit(t)
      expect(codeOf(() => hydrate(t, [...raws, Buffer.alloc(0)], 'test')), name).toMatch(code)
    }
  })

  it('still decodes schema-1 manifests, and a top alone is not a manifest', async () => {
    const { topFile, full } = await twoReleases()
    expect(decodeManifest(encodeManifest(full, privateKey), publicKey)).toEqual(full)
    expect(codeOf(() => decodeManifest(topFile, publicKey))).toBe('E_SCHEMA')
  })

  it('stores a bundle that decodes only with the publisher key and intact objects', async () => {
    const { top, topFile, raws, full } = await twoReleases()
    const bundle = encodeBundle(topFile, raws)
    expect(decodeManifest(bundle, publicKey)).toEqual(full)
    expect(manifestFileSha256(bundle)).toBe(createHash('sha256').update(topFile).digest('hex'))
    expect(manifestFileSha256(topFile)).toBe(createHash('sha256').update(topFile).digest('hex'))
    expect(storedManifestPaths(bundle, 'bundle')).toEqual(full.files.map((f) => f.path))
    const other = createPrivateKey(generateKeyPair().privatePem)
    expect(codeOf(() => decodeManifest(encodeBundle(encodeManifest(top, other), raws), publicKey))).toBe('E_SIGNATURE')
    const flipped = Buffer.from(bundle)
    flipped[bundle.length - 1]! ^= 1
    expect(codeOf(() => decodeManifest(flipped, publicKey))).toBe('E_MANIFEST_HASH')
    expect(codeOf(() => decodeManifest(bundle.subarray(0, bundle.length - 1), publicKey))).toBe('E_SCHEMA')
  })

  it('keeps the signed top of a 50 GB release in 100,000 files, compressed, to a quarter of the one-level manifest, and its delta for 1,000 changed files to a sliver', { timeout: 120_000 }, () => {
    const files = 100_000
    const perFile = 8
    const chunkBytes = 64 * 1024
    const chunks = files * perFile
    const pieceLength = 4 * 1024 * 1024
    const length = chunks * chunkBytes
    const full: Manifest = {
      schema: 1,
      product: 'big',
      version: '1.0.0',
      createdAt: new Date(0).toISOString(),
      scope: 'private',
      chunking: { algorithm: 'fastcdc-2020', min: 16384, avg: 65536, max: 262144 },
      pack: { name: 'big.pack', pieceLength, length, private: true, announce: [], pieces: randomBytes((length / pieceLength) * 20).toString('base64'), infoHash: '0'.repeat(40), sections: [{ version: '1.0.0', offset: 0, length, firstChunk: 0, chunkCount: chunks, store: { path: '1.0.0/pack.chunks', size: length } }] },
      chunks: { sha256: randomBytes(chunks * 32).toString('base64'), size: Array.from({ length: chunks }, () => chunkBytes), stored: Array.from({ length: chunks }, () => chunkBytes) },
      files: Array.from({ length: files }, (_, i) => ({ path: `content/pack${i % 200}/asset-${i}.bin`, mode: 0o644, size: perFile * chunkBytes, sha256: randomBytes(32).toString('hex'), chunks: Array.from({ length: perFile }, (_, k) => i * perFile + k) })),
      totals: { files, bytes: length, chunkRefs: chunks, uniqueChunks: chunks, uniqueBytes: length },
    }
    let offset = 0
    const top = splitManifest(full, (o) => {
      const size = zstdCompressSync(o.raw).length
      offset += size
      return { path: '1.0.0/index', offset: offset - size, size }
    })
    const topFile = encodeTop(top, privateKey)
    const topBytes = manifestForms(topFile, []).zstd.length
    const fullBytes = encodeManifest(full, privateKey).length
    // An update that changes 1 % of the files: their SHA-256s.
    const next: TopManifest = { ...top, version: '1.1.0', files: top.files.map((f, i) => (i % 100 === 0 ? { ...f, sha256: randomBytes(32).toString('hex') } : f)) }
    const nextFile = encodeTop(next, privateKey)
    const forms = manifestForms(nextFile, [{ version: '1.0.0', file: topFile }])
    const delta = forms.deltas[0]!.patch
    console.log(`100,000 files, ${length} bytes: signed top ${topFile.length} bytes, ${topBytes} compressed; index ${offset} bytes; one-level manifest ${fullBytes} bytes; delta for 1,000 changed files ${delta.length} bytes`)
    // Two SHA-256s per file (its content, its chunk list) are most of it: 6.4 MB that do not compress.
    expect(topBytes).toBeLessThan(fullBytes / 3)
    expect(topFile.length).toBeLessThan(RELEASE_LIMITS.manifestBytes)
    expect(delta.length).toBeLessThan(forms.zstd.length / 50)
    const rebuilt = applyPatch(topFile, delta, nextFile.length)
    expect(rebuilt instanceof Buffer && rebuilt.equals(nextFile)).toBe(true)
  })
})
