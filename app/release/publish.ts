import { createHash, createPublicKey, type KeyObject } from 'node:crypto'
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import semver from 'semver'
import * as v from 'valibot'
import { ShoalError } from '../../shared/errors.ts'
import { channelName, productId, SCHEMA_VERSION, versionString, type ChannelPointer, type Manifest, type ManifestObject, type ReleaseScope, type TopManifest } from '../../shared/release-schema.ts'
import { spkiBase64 } from './admission.ts'
import { writeFileAtomic } from './atomic-file.ts'
import { scanBuild, type BuildFile } from './build-scan.ts'
import { cdnPaths } from './cdn-layout.ts'
import { chooseChunking, type ChunkFlags } from './chunk-defaults.ts'
import { CHUNKER_ID, validateChunkParams, type ChunkParams } from './fastcdc.ts'
import { readLineage, readRecentReleases, type Lineage } from './lineage.ts'
import { decodePointer, encodePointer, encodeTop } from './manifest-codec.ts'
import { manifestForms } from './manifest-forms.ts'
import { splitManifest, storeObject } from './manifest-objects.ts'
import { planPack, type KnownChunks, type PackPlan } from './pack-planner.ts'
import { DEFAULT_PATCH_FROM_VERSIONS, DEFAULT_PIECE_LENGTH, MANIFEST_DELTA_VERSIONS } from './publish-defaults.ts'
import { ReleaseWorkers, type ChunkedFile } from './release-workers.ts'
import { buildPatchSection, type PatchSection } from './patch-section.ts'
import { writeSection, type SectionResult } from './section-writer.ts'
import { encodeTorrentFile, infoHash, type TorrentInfo } from './torrent.ts'


export interface PublishOptions {
  readonly buildDir: string
  readonly product: string
  readonly version: string
  readonly channel: string
  readonly privateKey: KeyObject
  readonly cdnRoot: string
  readonly trackers: readonly string[]
  readonly mirrors: readonly string[]
  /** Where peers may find each other; programmatic callers that leave it out publish `private`. */
  readonly scope?: ReleaseScope
  /** The swarm's admission key when it is not the publisher's own (an operator's). */
  readonly admissionKey?: KeyObject
  /** Fixed by the product's first release; later releases must match. */
  readonly pieceLength: number | undefined
  readonly chunking: ChunkFlags
  /** Previous versions each changed file gets a patch from; 0 publishes chunks only. */
  readonly patchFromVersions?: number
  readonly expiresInMs: number
  readonly allowDowngrade: boolean
  readonly now: () => Date
  readonly onProgress?: (p: PublishProgress) => void
}

export interface PublishProgress {
  readonly phase: 'chunk' | 'pack' | 'patch'
  readonly done: number
  readonly total: number
}

export interface PublishResult {
  readonly manifest: Manifest
  readonly pointer: ChannelPointer
  /** The signed top manifest as a fresh client fetches it (zstd-compressed), and the objects this release added to its index file. */
  readonly manifestBytes: number
  /** The manifest file's deltas from earlier versions, in bytes each (README, "Manifest deltas"). */
  readonly manifestDeltas: readonly { readonly from: string; readonly bytes: number }[]
  readonly indexBytes: number
  readonly newChunks: number
  readonly newBytes: number
  readonly storeBytes: number
  /** Patches kept, and their bytes. */
  readonly patches: number
  readonly patchBytes: number
  readonly pointerPath: string
}

function checkArguments(o: PublishOptions): void {
  const ids = [['--product', productId, o.product], ['--version', versionString, o.version], ['--channel', channelName, o.channel]] as const
  for (const [flag, schema, value] of ids) {
    const r = v.safeParse(schema, value)
    if (!r.success) throw new ShoalError('E_USAGE', `${flag} "${value}": ${r.issues[0].message}`)
  }
  const k = o.patchFromVersions
  if (k !== undefined && (!Number.isInteger(k) || k < 0 || k > 16)) throw new ShoalError('E_USAGE', `--patch-from-versions ${k} must be a whole number from 0 to 16`)
  const p = o.pieceLength
  if (p !== undefined && (p < 16384 || (p & (p - 1)) !== 0 || p > 256 * 1024 * 1024)) {
    throw new ShoalError('E_USAGE', `--piece-size ${p} must be a power of two between 16 KiB and 256 MiB`)
  }
}

/** Everything that can refuse the publish, checked before any byte is read or written. */
async function checkLineage(o: PublishOptions, productRoot: string, publicKey: KeyObject): Promise<{ lineage: Lineage | undefined; previous: ChannelPointer | undefined }> {
  const lineage = await readLineage(productRoot)
  const taken = lineage?.releases.some((r) => r.version === o.version) || (await stat(join(productRoot, o.version)).then(() => true, () => false))
  if (taken) throw new ShoalError('E_VERSION_EXISTS', `${o.product} ${o.version} is already published in ${o.cdnRoot}`, 'publish a new version number; published releases are immutable')
  if (lineage && o.pieceLength !== undefined && o.pieceLength !== lineage.pieceLength) {
    throw new ShoalError('E_LINEAGE', `--piece-size ${o.pieceLength} differs from ${lineage.pieceLength}, which earlier releases of ${o.product} use`, 'omit --piece-size; it is fixed by the first release')
  }
  const pointerPath = join(productRoot, cdnPaths.channel(o.channel))
  const pointerBytes = await readFile(pointerPath).catch(() => undefined)
  const previous = pointerBytes && decodePointer(pointerBytes, publicKey, pointerPath)
  if (previous && semver.lt(o.version, previous.version) && !o.allowDowngrade) {
    throw new ShoalError('E_ROLLBACK', `channel ${o.channel} is at ${previous.version}; moving it to ${o.version} is a downgrade`, 'pass --allow-downgrade to roll the channel back on purpose')
  }
  return { lineage, previous }
}

interface BuiltSection {
  readonly chunked: ChunkedFile[]
  readonly plan: PackPlan
  readonly section: SectionResult
  readonly patches: PatchSection
}

/** Chunks and hashes the build in worker threads, plans the pack, and writes the new store section into `staging`. */
async function buildSection(o: PublishOptions, files: readonly BuildFile[], earlier: readonly Manifest[], known: KnownChunks & { readonly stored: readonly number[] }, chunking: ChunkParams, pieceLength: number, staging: string): Promise<BuiltSection> {
  const workers = new ReleaseWorkers()
  try {
    const total = files.reduce((n, f) => n + f.size, 0)
    let done = 0
    const chunked = await Promise.all(
      files.map((f) => {
        let seen = 0
        return workers.chunkFile(f.absolute, f.size, chunking, true, (bytes) => {
          done += bytes - seen
          seen = bytes
          o.onProgress?.({ phase: 'chunk', done, total })
        })
      }),
    )
    const plan = planPack(known, chunked, pieceLength)
    await rm(staging, { recursive: true, force: true })
    await mkdir(staging, { recursive: true })
    const section = await writeSection(plan.newChunks, files.map((f) => f.absolute), join(staging, 'pack.chunks'), pieceLength, workers, (bytes) =>
      o.onProgress?.({ phase: 'pack', done: bytes, total: plan.section.length }),
    )
    const stored = (c: number) => (c < known.sizes.length ? known.stored[c]! : section.stored[c - known.sizes.length]!)
    const patches = await buildPatchSection({
      productRoot: cdnPaths.productRoot(o.cdnRoot, o.product),
      version: o.version,
      earlier,
      files: files.map((f, i) => ({ path: f.path, size: f.size, sha256: chunked[i]!.fileSha256!, chunks: plan.fileChunks[i]! })),
      buildPaths: files.map((f) => f.absolute),
      stored,
      firstChunk: known.sizes.length + plan.newChunks.length,
      packOffset: plan.packLength,
      pieceLength,
      maxChunk: chunking.max,
      stagingDir: staging,
      workers,
      onProgress: (done, total) => o.onProgress?.({ phase: 'patch', done, total }),
    })
    for (const f of files) {
      const st = await stat(f.absolute)
      if (st.size !== f.size || st.mtimeMs !== f.mtimeMs) throw new ShoalError('E_IO', `${f.absolute} changed while it was being published`, 'publish from a build folder nothing else writes to')
    }
    return { chunked, plan, section, patches }
  } finally {
    await workers.close()
  }
}

function buildManifest(o: PublishOptions, files: readonly BuildFile[], base: Manifest | undefined, known: KnownChunks, built: BuiltSection, chunking: ChunkParams, torrent: TorrentInfo, createdAt: Date): Manifest {
  const { plan, section, chunked, patches } = built
  const fileSizes = [...known.sizes, ...plan.newChunks.map((c) => c.size)]
  const sizes = [...fileSizes, ...patches.sizes]
  const used = new Set(plan.fileChunks.flat())
  return {
    schema: SCHEMA_VERSION,
    product: o.product,
    version: o.version,
    createdAt: createdAt.toISOString(),
    scope: o.scope ?? 'private',
    ...(o.admissionKey ? { admission: { key: spkiBase64(o.admissionKey) } } : {}),
    chunking: { algorithm: CHUNKER_ID, ...chunking },
    pack: {
      name: torrent.name,
      pieceLength: torrent.pieceLength,
      length: torrent.length,
      private: torrent.private,
      announce: [...o.trackers],
      pieces: Buffer.from(torrent.pieces).toString('base64'),
      infoHash: infoHash(torrent),
      sections: [
        ...(base?.pack.sections ?? []),
        { version: o.version, ...plan.section, store: { path: cdnPaths.store(o.version), size: section.storeSize } },
        ...(patches.section ? [patches.section] : []),
      ],
    },
    chunks: {
      sha256: Buffer.concat([known.digests, plan.newDigests, patches.digests]).toString('base64'),
      size: sizes,
      stored: [...(base?.chunks.stored ?? []), ...section.stored, ...patches.sizes],
    },
    files: files.map((f, i) => ({ path: f.path, mode: f.mode, size: f.size, sha256: chunked[i]!.fileSha256!, chunks: plan.fileChunks[i]! })),
    totals: {
      files: files.length,
      bytes: files.reduce((n, f) => n + f.size, 0),
      chunkRefs: plan.fileChunks.reduce((n, refs) => n + refs.length, 0),
      uniqueChunks: used.size,
      uniqueBytes: [...used].reduce((n, c) => n + sizes[c]!, 0),
    },
    ...(patches.patches.length > 0 ? { patches: patches.patches } : {}),
  }
}

/** The top of `manifest`, and its index file: the objects no earlier release's index holds, each zstd-compressed. */
function twoLevels(manifest: Manifest, version: string, earlier: ReadonlyMap<string, ManifestObject>): { top: TopManifest; index: Buffer } {
  const written: Buffer[] = []
  let offset = 0
  const top = splitManifest(manifest, (o) => {
    const known = earlier.get(o.sha256)
    if (known) return known
    const { stored, coding } = storeObject(o)
    written.push(stored)
    offset += stored.length
    return { path: cdnPaths.index(version), offset: offset - stored.length, size: stored.length, ...(coding ? { coding } : {}) }
  })
  return { top, index: Buffer.concat(written) }
}

/** Publishes one release into a CDN folder: chunk store section, torrent, signed manifest, signed channel pointer. */
export async function publish(o: PublishOptions): Promise<PublishResult> {
  checkArguments(o)
  const publicKey = createPublicKey(o.privateKey)
  const productRoot = cdnPaths.productRoot(o.cdnRoot, o.product)
  const { lineage: existing, previous } = await checkLineage(o, productRoot, publicKey)
  const files = await scanBuild(o.buildDir)
  const chunking = chooseChunking(o.chunking, existing?.chunking, files.reduce((n, f) => n + f.size, 0))
  const chunkProblem = validateChunkParams(chunking)
  if (chunkProblem) throw new ShoalError('E_USAGE', chunkProblem)
  const lineage: Lineage = existing ?? { product: o.product, pieceLength: o.pieceLength ?? DEFAULT_PIECE_LENGTH, chunking, releases: [] }
  // The base the new section extends, the versions changed files are patched from, and those the manifest file gets a delta from.
  const recent = await readRecentReleases(productRoot, lineage, publicKey, Math.max(MANIFEST_DELTA_VERSIONS, o.patchFromVersions ?? DEFAULT_PATCH_FROM_VERSIONS))
  const { manifests: earlier, objects: earlierObjects } = recent
  const base = earlier[0]
  const known: KnownChunks & { readonly stored: readonly number[] } = base
    ? { digests: Buffer.from(base.chunks.sha256, 'base64'), sizes: base.chunks.size, stored: base.chunks.stored, packLength: base.pack.length }
    : { digests: new Uint8Array(0), sizes: [], stored: [], packLength: 0 }

  const staging = join(productRoot, `.publish-${o.version}`)
  const patchFrom = earlier.slice(0, o.patchFromVersions ?? DEFAULT_PATCH_FROM_VERSIONS)
  const built = await buildSection(o, files, patchFrom, known, chunking, lineage.pieceLength, staging).catch(async (err: unknown) => {
    await rm(staging, { recursive: true, force: true })
    throw err
  })
  const createdAt = o.now()
  const torrent: TorrentInfo = {
    name: `${o.product}.pack`,
    length: built.patches.packLength,
    pieceLength: lineage.pieceLength,
    pieces: Buffer.concat([Buffer.from(base?.pack.pieces ?? '', 'base64'), built.section.pieces, built.patches.pieces]),
    // BEP 27: a private torrent stays out of the DHT and peer exchange, which only a public release may use.
    private: o.scope !== 'public',
  }
  const manifest = buildManifest(o, files, base, known, built, chunking, torrent, createdAt)
  const { top, index } = twoLevels(manifest, o.version, earlierObjects)
  const manifestFile = encodeTop(top, o.privateKey)
  const forms = manifestForms(manifestFile, recent.files.slice(0, MANIFEST_DELTA_VERSIONS).map((file, i) => ({ version: earlier[i]!.version, file })))
  const inStaging = (path: string) => join(staging, path.slice(o.version.length + 1))
  await writeFile(inStaging(cdnPaths.manifest(o.version)), manifestFile)
  await writeFile(inStaging(cdnPaths.manifestZstd(o.version)), forms.zstd)
  for (const d of forms.deltas) await writeFile(inStaging(cdnPaths.manifestDelta(o.version, d.from)), d.patch)
  await writeFile(join(staging, 'index'), index)
  await writeFile(join(staging, 'pack.torrent'), encodeTorrentFile(torrent, o.trackers, createdAt))
  await rename(staging, join(productRoot, o.version))

  // Lineage before pointer: a crash in between leaves a published but unannounced release.
  const manifestSha256 = createHash('sha256').update(manifestFile).digest('hex')
  const nextLineage: Lineage = { ...lineage, chunking, releases: [...lineage.releases, { version: o.version, manifest: cdnPaths.manifest(o.version), sha256: manifestSha256, publishedAt: createdAt.toISOString() }] }
  await writeFileAtomic(join(productRoot, cdnPaths.lineage), JSON.stringify(nextLineage, null, 2) + '\n')
  const pointer: ChannelPointer = {
    schema: SCHEMA_VERSION,
    product: o.product,
    channel: o.channel,
    version: o.version,
    manifest: {
      path: cdnPaths.manifest(o.version),
      sha256: manifestSha256,
      size: manifestFile.length,
      zstd: { path: cdnPaths.manifestZstd(o.version), size: forms.zstd.length },
      ...(forms.deltas.length > 0 ? { deltas: forms.deltas.map((d) => ({ from: d.from, path: cdnPaths.manifestDelta(o.version, d.from), size: d.patch.length })) } : {}),
    },
    sequence: (previous?.sequence ?? 0) + 1,
    issuedAt: createdAt.toISOString(),
    expiresAt: new Date(createdAt.getTime() + o.expiresInMs).toISOString(),
    mirrors: [...o.mirrors],
  }
  const pointerPath = join(productRoot, cdnPaths.channel(o.channel))
  await mkdir(join(productRoot, 'channels'), { recursive: true })
  await writeFileAtomic(pointerPath, encodePointer(pointer, o.privateKey))
  return { manifest, pointer, manifestBytes: forms.zstd.length, manifestDeltas: forms.deltas.map((d) => ({ from: d.from, bytes: d.patch.length })), indexBytes: index.length, newChunks: built.plan.newChunks.length, newBytes: built.plan.section.length, storeBytes: built.section.storeSize, patches: built.patches.patches.length, patchBytes: built.patches.section?.length ?? 0, pointerPath }
}
