import { createPrivateKey, createPublicKey } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isShoalError } from '../../../shared/errors.ts'
import { manifestSchema, type Manifest } from '../../../shared/release-schema.ts'
import { seededBytes } from '../../../app/demo/sample-build.ts'
import { decodeManifest, encodeManifest } from '../../../app/release/manifest-codec.ts'
import { publish } from '../../../app/release/publish.ts'
import { generateKeyPair } from '../../../app/release/signing.ts'
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
    const good = decodeManifest(await readFile(join(dir, 'cdn', 'codec', '1.0.0', 'manifest.json')), publicKey)
    expect(good).toEqual(manifestSchema.parse(JSON.parse(JSON.stringify(good))))

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
      const issue = manifestSchema.safeParse(bad).error?.issues[0]
      expect(issue, name).toBeDefined()
      let caught: unknown
      try {
        decodeManifest(encodeManifest(bad, privateKey), publicKey)
      } catch (err) {
        caught = err
      }
      expect(isShoalError(caught) && caught.message, name).toBe(`manifest field ${issue!.path.join('.')}: ${issue!.message}`)
    }
  })
})
