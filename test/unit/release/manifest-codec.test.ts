import { createPrivateKey, createPublicKey } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import * as v from 'valibot'
import { isShoalError } from '../../../shared/errors.ts'
import { manifestSchema, RELEASE_LIMITS, type Manifest } from '../../../shared/release-schema.ts'
import { seededBytes } from '../../../app/demo/sample-build.ts'
import { readPublishedManifest } from '../../../app/release/cdn-manifest.ts'
import { decodeManifest, encodeManifest } from '../../../app/release/manifest-codec.ts'
import { publish } from '../../../app/release/publish.ts'
import { generateKeyPair, sealEnvelope } from '../../../app/release/signing.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()

describe('manifest decode', () => {
  it('checks the long number lists by hand with the same outcome and message as the schema', async () => {
    const dir = await tempDir()
    const build = join(dir, 'build')
    await mkdir(build)
    await writeFile(join(build, 'a.bin'), seededBytes('codec-a', 300_000))
    await writeFile(join(build, 'b.txt'), 'small file')
    const pair = generateKeyPair()
    const privateKey = createPrivateKey(pair.privatePem)
    const publicKey = createPublicKey(pair.publicPem)
    await publish({ buildDir: build, product: 'codec', version: '1.0.0', channel: 'stable', privateKey, cdnRoot: join(dir, 'cdn'), trackers: [], mirrors: [], pieceLength: undefined, chunking: {}, expiresInMs: 86_400_000, allowDowngrade: false, now: () => new Date() })
    const { manifest: good } = await readPublishedManifest(join(dir, 'cdn', 'codec'), '1.0.0/manifest.json', publicKey)
    expect(good).toEqual(v.parse(manifestSchema, JSON.parse(JSON.stringify(good))))

    const edits: [string, (m: Manifest) => void][] = [
      ['zero chunk size', (m) => void (m.chunks.size[0] = 0)],
      ['fractional stored size', (m) => void (m.chunks.stored[1] = 1.5)],
      ['chunk over 64 MiB', (m) => void (m.chunks.size[0] = 64 * 1024 * 1024 + 1)],
      ['string in a chunk list', (m) => void ((m.files[0]!.chunks as unknown[])[0] = '0')],
      ['negative chunk index', (m) => void (m.files[1]!.chunks[0] = -1)],
      ['unsafe integer', (m) => void (m.files[0]!.chunks[0] = 2 ** 53)],
      ['sizes not a list', (m) => void ((m.chunks as { size: unknown }).size = {})],
      ['unknown key beside the lists', (m) => void ((m.chunks as Record<string, unknown>)['extra'] = 1)],
    ]
    for (const [name, edit] of edits) {
      const bad = structuredClone(good)
      edit(bad)
      const issue = v.safeParse(manifestSchema, bad).issues?.[0]
      expect(issue, name).toBeDefined()
      let caught: unknown
      try {
        decodeManifest(encodeManifest(bad, privateKey), publicKey)
      } catch (err) {
        caught = err
      }
      expect(isShoalError(caught) && caught.message, name).toBe(`manifest field ${v.getDotPath(issue!)}: ${issue!.message}`)
    }

    // The totals count a chunk two files share once; a count off by one is refused.
    const shared = structuredClone(good)
    const extra = shared.files[0]!.chunks[0]!
    shared.files[1] = { ...shared.files[1]!, size: shared.files[1]!.size + shared.chunks.size[extra]!, chunks: [...shared.files[1]!.chunks, extra] }
    shared.totals = { ...shared.totals, bytes: shared.totals.bytes + shared.chunks.size[extra]!, chunkRefs: shared.totals.chunkRefs + 1 }
    expect(decodeManifest(encodeManifest(shared, privateKey), publicKey).totals.uniqueChunks).toBe(good.totals.uniqueChunks)
    for (const field of ['uniqueChunks', 'uniqueBytes'] as const) {
      const off = structuredClone(shared)
      off.totals = { ...off.totals, [field]: off.totals[field] + 1 }
      expect(() => decodeManifest(encodeManifest(off, privateKey), publicKey), field).toThrow(/totals do not match the file list/)
    }
  })

  it('bounds chunk references and the decoded size before anything is allocated for them (E_LIMIT)', () => {
    const pair = generateKeyPair()
    const privateKey = createPrivateKey(pair.privatePem)
    const publicKey = createPublicKey(pair.publicPem)
    const codeOf = (file: Buffer) => {
      try {
        decodeManifest(file, publicKey)
      } catch (err) {
        return isShoalError(err) ? `${err.code}: ${err.message}` : String(err)
      }
      return 'decoded'
    }
    const refs = (n: number) => `{"files":[{"chunks":[${'0,'.repeat(n - 1)}0]}]}`
    // Compressed: a few KB that would decode to 32 MB stop at the expansion bound.
    expect(codeOf(sealEnvelope('manifest', refs(16_777_216), privateKey, true))).toMatch(/^E_LIMIT: manifest payload does not decompress within/)
    // Uncompressed (the signature covers the text as is): the reference count itself.
    expect(codeOf(sealEnvelope('manifest', refs(RELEASE_LIMITS.chunkRefs + 1), privateKey, false))).toMatch(/^E_LIMIT: manifest files reference 4194305 chunks/)
  })

  it('proves every patch entry against the chunk table: its file, its output hash, its chunks and its store offset', async () => {
    const dir = await tempDir()
    const build = join(dir, 'build')
    await mkdir(build)
    const exe = seededBytes('codec-exe', 400_000)
    await writeFile(join(build, 'app.exe'), exe)
    const pair = generateKeyPair()
    const privateKey = createPrivateKey(pair.privatePem)
    const publicKey = createPublicKey(pair.publicPem)
    const release = (version: string) => publish({ buildDir: build, product: 'codec', version, channel: 'stable', privateKey, cdnRoot: join(dir, 'cdn'), trackers: [], mirrors: [], pieceLength: undefined, chunking: {}, expiresInMs: 86_400_000, allowDowngrade: false, now: () => new Date() })
    await release('1.0.0')
    for (let i = 0; i < exe.length; i += 4096) exe[i]! ^= 1
    await writeFile(join(build, 'app.exe'), exe)
    await release('1.1.0')
    const { manifest: good } = await readPublishedManifest(join(dir, 'cdn', 'codec'), '1.1.0/manifest.json', publicKey)
    expect(good.patches).toHaveLength(1)
    const edits: [(m: Manifest) => void, RegExp][] = [
      [(m) => void (m.patches![0]!.file = 5), /patch 0 builds file 5/],
      [(m) => void (m.patches![0]!.toSha256 = '0'.repeat(64)), /not app.exe's SHA-256/],
      [(m) => void (m.patches![0]!.size += 1), /chunks add up to/],
      [(m) => void (m.patches![0]!.storeOffset = 1), /names store offset 1/],
      [(m) => void (m.patches![0]!.chunks = [m.patches![0]!.chunks[0]!, m.patches![0]!.chunks[0]! + 2]), /not consecutive in one section/],
    ]
    for (const [edit, message] of edits) {
      const bad = structuredClone(good)
      edit(bad)
      expect(() => decodeManifest(encodeManifest(bad, privateKey), publicKey)).toThrow(message)
    }
  })
})
