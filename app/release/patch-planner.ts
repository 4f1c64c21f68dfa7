// Pure: which (new file, earlier version) pairs deserve a patch attempt, and whether a made
// patch is worth its place in the manifest.
import type { Manifest, ManifestFile } from '../../shared/release-schema.ts'

/** Files above this get no patch: the publisher holds the old and the new file and zstd's tables for it, a client the old and the new file (README, "Patches"). */
export const PATCH_MAX_FILE_BYTES = 128 * 1024 * 1024
/** A patch is kept only when it costs at most this share of the chunks it replaces... */
export const PATCH_MARGIN = 0.9
/** ...counting what its manifest entry adds (three hex digests and a few numbers). */
export const PATCH_ENTRY_BYTES = 300

export interface NewFile {
  readonly path: string
  readonly size: number
  readonly sha256: string
  /** Global chunk indices (the lineage's chunk table is shared by every version). */
  readonly chunks: readonly number[]
}

export interface PatchCandidate {
  /** Index into the new release's files. */
  readonly file: number
  readonly fromVersion: string
  readonly from: ManifestFile
  /** Stored bytes of the chunks a client at `fromVersion` would fetch for this file without a patch. */
  readonly chunkCost: number
}

/** Earlier files a renamed file may come from: those whose path the new release no longer has, by shared chunks. */
function renamedFrom(file: NewFile, gone: readonly ManifestFile[]): ManifestFile | undefined {
  const mine = new Set(file.chunks)
  let best: ManifestFile | undefined
  let bestShared = 0
  for (const old of gone) {
    let shared = 0
    for (const c of old.chunks) if (mine.has(c)) shared++
    if (shared > bestShared) [best, bestShared] = [old, shared]
  }
  return best
}

/**
 * For each changed file and each earlier version (newest first), the old file to patch from:
 * the same path, or else the removed file sharing the most chunks with it.
 */
export function patchCandidates(files: readonly NewFile[], earlier: readonly Manifest[], stored: (chunk: number) => number): PatchCandidate[] {
  const paths = new Set(files.map((f) => f.path))
  const out: PatchCandidate[] = []
  for (const old of earlier) {
    const byPath = new Map(old.files.map((f) => [f.path, f]))
    const gone = old.files.filter((f) => !paths.has(f.path))
    const has = new Set<number>()
    for (const f of old.files) for (const c of f.chunks) has.add(c)
    for (const [i, file] of files.entries()) {
      if (file.size > PATCH_MAX_FILE_BYTES) continue
      const from = byPath.get(file.path) ?? renamedFrom(file, gone)
      if (!from || from.sha256 === file.sha256 || from.size > PATCH_MAX_FILE_BYTES) continue
      let chunkCost = 0
      for (const c of new Set(file.chunks)) if (!has.has(c)) chunkCost += stored(c)
      if (chunkCost > PATCH_ENTRY_BYTES) out.push({ file: i, fromVersion: old.version, from, chunkCost })
    }
  }
  return out
}

export function patchWorthKeeping(patchBytes: number, chunkCost: number): boolean {
  return patchBytes + PATCH_ENTRY_BYTES <= PATCH_MARGIN * chunkCost
}
