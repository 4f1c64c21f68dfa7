// Pure: what an install or update has to do, given the new manifest and (if any)
// the verified manifest of the installed version. Chunks are matched by SHA-256,
// so a release from another pack lineage still reuses what it can.
import type { Manifest } from '../../../shared/release-schema.ts'
import { ChunkTargets, targetLists } from './chunk-targets.ts'

export interface PlannedFile {
  readonly path: string
  readonly size: number
  readonly mode: number
  /** Path of the installed file with the same content: hard-linked once its chunks verify. */
  readonly linkFrom: string | undefined
}

/** A changed file built by a patch from an installed file, cheaper than its missing chunks. */
export interface PlannedPatch {
  /** Index into the manifest's patches. */
  readonly patch: number
  /** Index into the manifest's files: the file it builds. */
  readonly file: number
  /** The installed file (release-relative path) it applies to. */
  readonly from: string
}

export interface LocalCopy {
  /** Installed file (release-relative path) and offset holding the chunk's bytes. */
  readonly path: string
  readonly offset: number
}

export interface InstallPlan {
  readonly files: PlannedFile[]
  /** Changed files a patch builds; their patch's bytes are staged as file `files.length + k` of `lists`. */
  readonly patches: PlannedPatch[]
  /** The chunk list of every file the job may stage (see targetLists). */
  readonly lists: (readonly number[])[]
  /** Chunks that assembled files and staged patches need, each with every position it fills. */
  readonly targets: ChunkTargets
  /** Where the installed version holds a needed chunk, also for patched files (should their patch fail). */
  readonly local: Map<number, LocalCopy>
  /** Raw bytes of every file the new version has. */
  readonly totalBytes: number
}

/** Each chunk's digest as hex, decoded once per manifest. */
export function chunkDigests(m: Manifest): string[] {
  const all = Buffer.from(m.chunks.sha256, 'base64')
  return Array.from({ length: m.chunks.size.length }, (_, i) => all.subarray(i * 32, i * 32 + 32).toString('hex'))
}

/**
 * The cheapest patch for each changed file, where one applies to an installed file and costs
 * fewer bytes than the file's chunks that are not local: patch bytes are raw, chunk bytes are
 * counted as stored (compressed) on the CDN, both as the wire carries them.
 */
function choosePatches(next: Manifest, installed: Manifest, changed: readonly number[], local: ReadonlyMap<number, LocalCopy>): PlannedPatch[] {
  const installedBySha = new Map(installed.files.map((f) => [f.sha256, f.path]))
  const best = new Map<number, { patch: number; size: number }>()
  for (const [k, p] of (next.patches ?? []).entries()) {
    if (!installedBySha.has(p.fromSha256)) continue
    const held = best.get(p.file)
    if (!held || p.size < held.size) best.set(p.file, { patch: k, size: p.size })
  }
  const chosen: PlannedPatch[] = []
  for (const i of changed) {
    const option = best.get(i)
    if (!option) continue
    let chunkCost = 0
    for (const c of new Set(next.files[i]!.chunks)) if (!local.has(c)) chunkCost += next.chunks.stored[c]!
    if (option.size < chunkCost) chosen.push({ patch: option.patch, file: i, from: installedBySha.get(next.patches![option.patch]!.fromSha256)! })
  }
  return chosen
}

export function planInstall(next: Manifest, installed: Manifest | undefined): InstallPlan {
  const oldFiles = new Map(installed?.files.map((f) => [f.path, f]) ?? [])
  const oldDigests = installed ? chunkDigests(installed) : []
  const oldWhere = new Map<string, LocalCopy>()
  for (const f of installed?.files ?? []) {
    let offset = 0
    for (const c of f.chunks) {
      if (!oldWhere.has(oldDigests[c]!)) oldWhere.set(oldDigests[c]!, { path: f.path, offset })
      offset += installed!.chunks.size[c]!
    }
  }
  // Hex digests only when there is an installed version to look chunks up in (57k strings per GiB).
  const digests = oldWhere.size > 0 ? chunkDigests(next) : undefined
  const local = new Map<number, LocalCopy>()
  const changed: number[] = []
  const files = next.files.map((f, i): PlannedFile => {
    const old = oldFiles.get(f.path)
    const same = old !== undefined && old.sha256 === f.sha256 && old.size === f.size && old.mode === f.mode
    if (same) return { path: f.path, size: f.size, mode: f.mode, linkFrom: f.path }
    changed.push(i)
    for (const c of f.chunks) {
      const copy = digests && oldWhere.get(digests[c]!)
      if (copy) local.set(c, copy)
    }
    return { path: f.path, size: f.size, mode: f.mode, linkFrom: undefined }
  })
  const patches = installed ? choosePatches(next, installed, changed, local) : []
  const patched = new Set(patches.map((p) => p.file))
  const lists = targetLists(next, patches.map((p) => p.patch))
  const staged = [...changed.filter((i) => !patched.has(i)), ...patches.map((_, k) => files.length + k)]
  return { files, patches, lists, targets: new ChunkTargets(next, staged, lists), local, totalBytes: next.totals.bytes }
}
