import { createPublicKey, createHash, type KeyObject } from 'node:crypto'
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import semver from 'semver'
import { ShoalError } from '../../shared/errors.ts'
import { channelName, productId, SCHEMA_VERSION, versionString, type ChannelPointer, type Manifest, type PackSection } from '../../shared/release-schema.ts'
import { writeFileAtomic } from './atomic-file.ts'
import { scanBuild } from './build-scan.ts'
import { cdnPaths } from './cdn-layout.ts'
import { ChunkHashPool } from './chunk-hash-pool.ts'
import { CHUNKER_ID, validateChunkParams, type ChunkParams } from './fastcdc.ts'
import { readBaseManifest, readLineage, type Lineage } from './lineage.ts'
import { decodePointer, encodeManifest, encodePointer } from './manifest-codec.ts'
import { planPack, type KnownChunks } from './pack-planner.ts'
import { writeSection } from './section-writer.ts'
import { encodeTorrentFile, infoHash } from './torrent.ts'

export const DEFAULT_PIECE_LENGTH = 4 * 1024 * 1024

export interface PublishOptions {
  readonly buildDir: string
  readonly product: string
  readonly version: string
  readonly channel: string
  readonly privateKey: KeyObject
  readonly cdnRoot: string
  readonly trackers: readonly string[]
  readonly mirrors: readonly string[]
  /** Fixed by the product's first release; later releases must match. */
  readonly pieceLength: number | undefined
  readonly chunking: ChunkParams
  readonly expiresInMs: number
  readonly allowDowngrade: boolean
  readonly now: () => Date
  readonly onProgress?: (p: PublishProgress) => void
}

export interface PublishProgress {
  readonly phase: 'chunk' | 'pack'
  readonly done: number
  readonly total: number
}

export interface PublishResult {
  readonly manifest: Manifest
  readonly pointer: ChannelPointer
  readonly manifestBytes: number
  readonly newChunks: number
  readonly newBytes: number
  readonly storeBytes: number
  readonly pointerPath: string
}

function checkIds(o: PublishOptions): void {
  const checks: [string, { safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } } }, string][] = [
    ['--product', productId, o.product],
    ['--version', versionString, o.version],
    ['--channel', channelName, o.channel],
  ]
  for (const [flag, schema, value] of checks) {
    const r = schema.safeParse(value)
    if (!r.success) throw new ShoalError('E_USAGE', `${flag} "${value}": ${r.error?.issues[0]?.message ?? 'invalid'}`)
  }
  const chunkProblem = validateChunkParams(o.chunking)
  if (chunkProblem) throw new ShoalError('E_USAGE', chunkProblem)
  const p = o.pieceLength
  if (p !== undefined && (p < 16384 || (p & (p - 1)) !== 0 || p > 256 * 1024 * 1024)) {
    throw new ShoalError('E_USAGE', `--piece-size ${p} must be a power of two between 16 KiB and 256 MiB`)
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false)
}

async function currentPointer(path: string, publicKey: KeyObject): Promise<ChannelPointer | undefined> {
  const bytes = await readFile(path).catch(() => undefined)
  return bytes && decodePointer(bytes, publicKey, path)
}

/** Publishes one release into a CDN folder: chunk store section, torrent, signed manifest, signed channel pointer. */
export async function publish(o: PublishOptions): Promise<PublishResult> {
  checkIds(o)
  const publicKey = createPublicKey(o.privateKey)
  const productRoot = cdnPaths.productRoot(o.cdnRoot, o.product)
  const lineage: Lineage = (await readLineage(productRoot)) ?? { product: o.product, pieceLength: o.pieceLength ?? DEFAULT_PIECE_LENGTH, releases: [] }
  if (lineage.releases.some((r) => r.version === o.version) || (await exists(join(productRoot, o.version)))) {
    throw new ShoalError('E_VERSION_EXISTS', `${o.product} ${o.version} is already published in ${o.cdnRoot}`, 'publish a new version number; published releases are immutable')
  }
  if (o.pieceLength !== undefined && o.pieceLength !== lineage.pieceLength) {
    throw new ShoalError('E_LINEAGE', `--piece-size ${o.pieceLength} differs from ${lineage.pieceLength}, which earlier releases of ${o.product} use`, 'omit --piece-size; it is fixed by the first release')
  }
  const pointerPath = join(productRoot, cdnPaths.channel(o.channel))
  const previous = await currentPointer(pointerPath, publicKey)
  if (previous && semver.lt(o.version, previous.version) && !o.allowDowngrade) {
    throw new ShoalError('E_ROLLBACK', `channel ${o.channel} is at ${previous.version}; moving it to ${o.version} is a downgrade`, 'pass --allow-downgrade to roll the channel back on purpose')
  }

  const files = await scanBuild(o.buildDir)
  const base = await readBaseManifest(productRoot, lineage, publicKey)
  const known: KnownChunks = base
    ? { digests: Buffer.from(base.chunks.sha256, 'base64'), sizes: base.chunks.size, packLength: base.pack.length }
    : { digests: new Uint8Array(0), sizes: [], packLength: 0 }

  const totalBytes = files.reduce((n, f) => n + f.size, 0)
  const pool = new ChunkHashPool()
  const chunked = await (async () => {
    const progress = new Array<number>(files.length).fill(0)
    const report = () => o.onProgress?.({ phase: 'chunk', done: progress.reduce((a, b) => a + b, 0), total: totalBytes })
    try {
      return await Promise.all(files.map((f, i) => pool.chunkFile(f.absolute, o.chunking, (b) => ((progress[i] = b), report()))))
    } finally {
      await pool.close()
    }
  })()
  const plan = planPack(known, chunked, lineage.pieceLength)

  const staging = join(productRoot, `.publish-${o.version}`)
  await rm(staging, { recursive: true, force: true })
  await mkdir(staging, { recursive: true })
  const section = await writeSection(plan.newChunks, files.map((f) => f.absolute), join(staging, 'pack.chunks'), lineage.pieceLength, (done) =>
    o.onProgress?.({ phase: 'pack', done, total: plan.section.length }),
  )
  for (const f of files) {
    const st = await stat(f.absolute)
    if (st.size !== f.size || st.mtimeMs !== f.mtimeMs) throw new ShoalError('E_IO', `${f.absolute} changed while it was being published`, 'publish from a build folder nothing else writes to')
  }

  const createdAt = o.now()
  const newSection: PackSection = { version: o.version, ...plan.section, store: { path: cdnPaths.store(o.version), size: section.storeSize } }
  const pieces = Buffer.concat([Buffer.from(base?.pack.pieces ?? '', 'base64'), section.pieces])
  const chunkSizes = [...known.sizes, ...plan.newChunks.map((c) => c.size)]
  const used = new Set(plan.fileChunks.flat())
  const torrentInfo = { name: `${o.product}.pack`, length: plan.packLength, pieceLength: lineage.pieceLength, pieces, private: true }
  const manifest: Manifest = {
    schema: SCHEMA_VERSION,
    product: o.product,
    version: o.version,
    createdAt: createdAt.toISOString(),
    chunking: { algorithm: CHUNKER_ID, ...o.chunking },
    pack: {
      ...torrentInfo,
      announce: [...o.trackers],
      pieces: pieces.toString('base64'),
      infoHash: infoHash(torrentInfo),
      sections: [...(base?.pack.sections ?? []), newSection],
    },
    chunks: {
      sha256: Buffer.concat([known.digests, plan.newDigests]).toString('base64'),
      size: chunkSizes,
      stored: [...(base?.chunks.stored ?? []), ...section.stored],
    },
    files: files.map((f, i) => ({ path: f.path, mode: f.mode, size: f.size, sha256: chunked[i]!.fileSha256, chunks: plan.fileChunks[i]! })),
    totals: {
      files: files.length,
      bytes: totalBytes,
      chunkRefs: plan.fileChunks.reduce((n, refs) => n + refs.length, 0),
      uniqueChunks: used.size,
      uniqueBytes: [...used].reduce((n, c) => n + chunkSizes[c]!, 0),
    },
  }
  const manifestFile = encodeManifest(manifest, o.privateKey)
  await writeFile(join(staging, 'manifest.json'), manifestFile)
  await writeFile(join(staging, 'pack.torrent'), encodeTorrentFile(torrentInfo, o.trackers, createdAt))
  await rename(staging, join(productRoot, o.version))

  // Lineage before pointer: a crash in between leaves a published but unannounced release.
  const manifestSha256 = createHash('sha256').update(manifestFile).digest('hex')
  lineage.releases.push({ version: o.version, manifest: cdnPaths.manifest(o.version), sha256: manifestSha256, publishedAt: createdAt.toISOString() })
  await writeFileAtomic(join(productRoot, cdnPaths.lineage), JSON.stringify(lineage, null, 2) + '\n')
  const pointer: ChannelPointer = {
    schema: SCHEMA_VERSION,
    product: o.product,
    channel: o.channel,
    version: o.version,
    manifest: { path: cdnPaths.manifest(o.version), sha256: manifestSha256, size: manifestFile.length },
    sequence: (previous?.sequence ?? 0) + 1,
    issuedAt: createdAt.toISOString(),
    expiresAt: new Date(createdAt.getTime() + o.expiresInMs).toISOString(),
    mirrors: [...o.mirrors],
  }
  await mkdir(join(productRoot, 'channels'), { recursive: true })
  await writeFileAtomic(pointerPath, encodePointer(pointer, o.privateKey))
  return { manifest, pointer, manifestBytes: manifestFile.length, newChunks: plan.newChunks.length, newBytes: plan.section.length, storeBytes: section.storeSize, pointerPath }
}
