// A release's patch section: per-file patches against the previous versions, made in the
// release workers, laid out as raw chunks after the release's own section.
import { hash } from 'node:crypto'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import type { FilePatch, Manifest, PackSection } from '../../shared/release-schema.ts'
import { cdnPaths } from './cdn-layout.ts'
import { alignUp } from './pack-planner.ts'
import { patchCandidates, patchWorthKeeping, type NewFile, type PatchCandidate } from './patch-planner.ts'
import { PieceHasher } from './piece-hasher.ts'
import { StoreLocations } from './store-locations.ts'
import { OLD_CHUNK_FIELDS } from './release-tasks.ts'
import type { ReleaseWorkers } from './release-workers.ts'

/** Old plus new file bytes being patched at once, across workers: bounds the publisher's memory (README, "Patches"). */
const PATCH_BYTES_IN_FLIGHT = 512 * 1024 * 1024

export interface PatchSectionInput {
  readonly productRoot: string
  readonly version: string
  /** The lineage's manifests to patch from, newest first; the first is the base the release extends. */
  readonly earlier: readonly Manifest[]
  readonly files: readonly NewFile[]
  /** Absolute build path of each new file. */
  readonly buildPaths: readonly string[]
  /** Stored size of every chunk, old and new. */
  readonly stored: (chunk: number) => number
  /** First chunk index and raw pack offset the section would take. */
  readonly firstChunk: number
  readonly packOffset: number
  readonly pieceLength: number
  /** Patches are cut into chunks of at most this many bytes, like any chunk of the release. */
  readonly maxChunk: number
  /** The folder the release is being written to (becomes `<version>/`). */
  readonly stagingDir: string
  readonly workers: ReleaseWorkers
  readonly onProgress?: (done: number, total: number) => void
}

export interface PatchSection {
  readonly patches: FilePatch[]
  readonly section: PackSection | undefined
  readonly digests: Buffer
  readonly sizes: number[]
  readonly pieces: Buffer
  readonly packLength: number
}

/** Where each chunk of the base manifest sits: an index into `stores` (absolute paths) and the offset in that store. */
function storeLocations(base: Manifest, productRoot: string): { stores: string[]; at: (chunk: number) => [store: number, offset: number] } {
  const locations = new StoreLocations(base)
  const stores = base.pack.sections.map((s) => s.store.path)
  return { stores: stores.map((p) => join(productRoot, p)), at: (c) => [stores.indexOf(locations.path(c)), locations.offset(c)] }
}

/** Runs `work` for each item with at most `budget` weight in flight (one item always runs). */
async function bounded<T>(items: readonly T[], weight: (t: T) => number, budget: number, slots: number, work: (t: T) => Promise<void>): Promise<void> {
  let used = 0
  let running = 0
  const waiting: (() => void)[] = []
  await Promise.all(
    items.map(async (item) => {
      const w = weight(item)
      while (running > 0 && (running >= slots || used + w > budget)) await new Promise<void>((resolve) => waiting.push(resolve))
      used += w
      running++
      try {
        await work(item)
      } finally {
        used -= w
        running--
        waiting.splice(0).forEach((wake) => wake())
      }
    }),
  )
}

export async function buildPatchSection(o: PatchSectionInput): Promise<PatchSection> {
  const empty: PatchSection = { patches: [], section: undefined, digests: Buffer.alloc(0), sizes: [], pieces: Buffer.alloc(0), packLength: o.packOffset }
  const base = o.earlier[0]
  if (!base) return empty
  const candidates = patchCandidates(o.files, o.earlier, o.stored)
  const where = storeLocations(base, o.productRoot)
  const made = new Map<PatchCandidate, Uint8Array>()
  let done = 0
  await bounded(candidates, (c) => c.from.size + o.files[c.file]!.size, PATCH_BYTES_IN_FLIGHT, o.workers.size, async (c) => {
    const oldChunks = new Float64Array(c.from.chunks.length * OLD_CHUNK_FIELDS)
    c.from.chunks.forEach((chunk, i) => oldChunks.set([...where.at(chunk), base.chunks.stored[chunk]!, base.chunks.size[chunk]!], i * OLD_CHUNK_FIELDS))
    const { patch } = await o.workers.makePatch({ stores: where.stores, oldChunks, oldSha256: c.from.sha256, newPath: o.buildPaths[c.file]!, newSize: o.files[c.file]!.size })
    if (patch && patchWorthKeeping(patch.length, c.chunkCost)) made.set(c, patch)
    o.onProgress?.(++done, candidates.length)
  })
  if (made.size === 0) return empty

  const storePath = cdnPaths.patchStore(o.version)
  const out = await open(join(o.stagingDir, 'pack.patches'), 'wx')
  const hasher = new PieceHasher(o.pieceLength)
  const patches: FilePatch[] = []
  const digests: Buffer[] = []
  const sizes: number[] = []
  let length = 0
  try {
    // In candidate order (earlier versions' order, then file order): the same build publishes the same section.
    for (const c of candidates) {
      const patch = made.get(c)
      if (!patch) continue
      const first = o.firstChunk + sizes.length
      for (let at = 0; at < patch.length; at += o.maxChunk) {
        const piece = patch.subarray(at, Math.min(patch.length, at + o.maxChunk))
        digests.push(hash('sha256', piece, 'buffer'))
        sizes.push(piece.length)
      }
      patches.push({ file: c.file, fromVersion: c.fromVersion, fromSha256: c.from.sha256, toSha256: o.files[c.file]!.sha256, size: patch.length, storeOffset: length, chunks: Array.from({ length: sizes.length - (first - o.firstChunk) }, (_, i) => first + i) })
      hasher.update(patch)
      await out.write(patch)
      length += patch.length
    }
    await out.sync()
  } finally {
    await out.close()
  }
  const section: PackSection = { version: o.version, offset: o.packOffset, length, firstChunk: o.firstChunk, chunkCount: sizes.length, store: { path: storePath, size: length } }
  return { patches, section, digests: Buffer.concat(digests), sizes, pieces: hasher.finish(), packLength: o.packOffset + alignUp(length, o.pieceLength) }
}
