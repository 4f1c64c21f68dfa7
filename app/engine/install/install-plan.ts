// Pure: what an install or update has to do, given the new manifest and (if any)
// the verified manifest of the installed version. Chunks are matched by SHA-256,
// so a release from another pack lineage still reuses what it can.
import type { Manifest } from '../../../shared/release-schema.ts'
import { ChunkTargets } from './chunk-targets.ts'

export interface PlannedFile {
  readonly path: string
  readonly size: number
  readonly mode: number
  /** Path of the installed file with the same content: hard-linked once its chunks verify. */
  readonly linkFrom: string | undefined
}

export interface LocalCopy {
  /** Installed file (release-relative path) and offset holding the chunk's bytes. */
  readonly path: string
  readonly offset: number
}

export interface InstallPlan {
  readonly files: PlannedFile[]
  /** Chunks that assembled files need, each with every position it fills. */
  readonly targets: ChunkTargets
  /** Where the installed version holds a needed chunk. */
  readonly local: Map<number, LocalCopy>
  /** Raw bytes of every file the new version has. */
  readonly totalBytes: number
}

/** Each chunk's digest as hex, decoded once per manifest. */
export function chunkDigests(m: Manifest): string[] {
  const all = Buffer.from(m.chunks.sha256, 'base64')
  return Array.from({ length: m.chunks.size.length }, (_, i) => all.subarray(i * 32, i * 32 + 32).toString('hex'))
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
  const assembled: number[] = []
  const files = next.files.map((f, i): PlannedFile => {
    const old = oldFiles.get(f.path)
    const same = old !== undefined && old.sha256 === f.sha256 && old.size === f.size && old.mode === f.mode
    if (same) return { path: f.path, size: f.size, mode: f.mode, linkFrom: f.path }
    assembled.push(i)
    for (const c of f.chunks) {
      const copy = digests && oldWhere.get(digests[c]!)
      if (copy) local.set(c, copy)
    }
    return { path: f.path, size: f.size, mode: f.mode, linkFrom: undefined }
  })
  return { files, targets: new ChunkTargets(next, assembled), local, totalBytes: next.totals.bytes }
}
