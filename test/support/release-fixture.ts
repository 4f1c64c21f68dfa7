import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeSampleBuild } from '../../app/demo/sample-build.ts'
import { readPublishedManifest } from '../../app/release/cdn-manifest.ts'
import { decodePointer, encodeManifest, encodePointer } from '../../app/release/manifest-codec.ts'
import type { ChannelPointer, Manifest } from '../../shared/release-schema.ts'
import { runCli } from './run-cli.ts'
import { testAdmissionKey } from './admission-key.ts'

export interface Fixture {
  readonly dir: string
  readonly keyDir: string
  readonly key: KeyObject
  readonly pub: KeyObject
  readonly cdn: string
  readonly pointerPath: string
  publish(buildDir: string, version: string, extra?: string[]): ReturnType<typeof runCli>
  readPointer(): Promise<ChannelPointer>
  readManifest(version: string): Promise<Manifest>
  /** Re-signs a changed manifest with the real key and points the channel at it: a hostile but validly signed release. */
  forge(edit: (m: Manifest) => void, editPointer?: (p: ChannelPointer) => void): Promise<void>
}

/**
 * Releases are published `--scope private` (a later `--scope` in `extra` wins): a lan release
 * would start LAN discovery, which multicasts out of every interface and belongs only in the
 * namespace tests. vitest.config.ts sets SHOAL_NO_LSD as a second guard. They name the test
 * process's admission key (admission-key.ts), which every client the tests start holds.
 */
export async function makeFixture(dir: string, buildBytes = 3 * 1024 * 1024): Promise<Fixture & { build: string }> {
  const keyDir = join(dir, 'keys')
  await runCli(['keygen', '--out', keyDir])
  const key = createPrivateKey(await readFile(join(keyDir, 'publisher.key')))
  const pub = createPublicKey(key)
  const build = join(dir, 'build-v1')
  await writeSampleBuild(build, buildBytes, 'fixture')
  const cdn = join(dir, 'cdn')
  const pointerPath = join(cdn, 'game', 'channels', 'stable.json')
  const fixture: Fixture & { build: string } = {
    dir,
    keyDir,
    key,
    pub,
    cdn,
    build,
    pointerPath,
    publish: (buildDir, version, extra = []) =>
      runCli(['publish', buildDir, '--product', 'game', '--version', version, '--channel', 'stable', '--key', join(keyDir, 'publisher.key'), '--out', cdn, '--piece-size', '256KiB', '--scope', 'private', '--admission-key', testAdmissionKey().pub, '--json', ...extra]),
    readPointer: async () => decodePointer(await readFile(pointerPath), pub),
    readManifest: async (version) => (await readPublishedManifest(join(cdn, 'game'), `${version}/manifest.json`, pub)).manifest,
    forge: (edit, editPointer) => forgeInto(fixture, edit, editPointer),
  }
  return fixture
}

/**
 * Re-signs an edited copy of the channel's manifest with the real key and points the channel at
 * it. The copy is a full (schema-1) manifest, which clients accept as they accept old releases.
 */
export async function forgeInto(f: Fixture, edit: (m: Manifest) => void, editPointer?: (p: ChannelPointer) => void): Promise<void> {
  const pointer = decodePointer(await readFile(f.pointerPath), f.pub)
  const manifestPath = join(f.cdn, 'game', pointer.manifest.path)
  const manifest = JSON.parse(JSON.stringify((await readPublishedManifest(join(f.cdn, 'game'), pointer.manifest.path, f.pub)).manifest)) as Manifest
  edit(manifest)
  const bytes = encodeManifest(manifest, f.key)
  await writeFile(manifestPath, bytes)
  // The forged file alone: the compressed copy and the deltas stay those of the real one.
  const next = { ...pointer, manifest: { path: pointer.manifest.path, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length } }
  editPointer?.(next)
  await writeFile(f.pointerPath, encodePointer(next, f.key))
}
