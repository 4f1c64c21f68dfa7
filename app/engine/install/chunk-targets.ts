// Every position each chunk fills in the files a job assembles, in flat typed arrays: a GiB has
// 57k chunks, and as a Map of arrays of { file, offset } objects this held 7 MiB of the heap for
// the whole download.
import type { Manifest } from '../../../shared/release-schema.ts'

/** The chunk list of every file a job may stage: the release's files, then the patches `patches` (indices into `m.patches`). */
export function targetLists(m: Manifest, patches: readonly number[]): (readonly number[])[] {
  return [...m.files.map((f) => f.chunks), ...patches.map((k) => m.patches![k]!.chunks)]
}

export class ChunkTargets {
  /** Chunks with at least one target, ascending. */
  readonly chunks: Uint32Array
  /** Targets of chunk c are [first[c], first[c + 1]). */
  private readonly first: Uint32Array
  private readonly files: Uint32Array
  private readonly offsets: Float64Array

  /**
   * The targets of the chunks of `files`, in file order. A file is an index into `lists`, which
   * holds each file's chunk list: the manifest's files, then any patches a job stages (see
   * targetLists).
   */
  constructor(m: Manifest, files: Iterable<number>, lists: readonly (readonly number[])[] = targetLists(m, [])) {
    const chosen = [...files].sort((a, b) => a - b)
    const n = m.chunks.size.length
    this.first = new Uint32Array(n + 1)
    for (const f of chosen) for (const c of lists[f]!) this.first[c + 1]!++
    let used = 0
    for (let c = 0; c < n; c++) {
      if (this.first[c + 1]! > 0) used++
      this.first[c + 1]! += this.first[c]!
    }
    this.files = new Uint32Array(this.first[n]!)
    this.offsets = new Float64Array(this.first[n]!)
    const next = this.first.slice(0, n)
    for (const f of chosen) {
      let offset = 0
      for (const c of lists[f]!) {
        const t = next[c]!++
        this.files[t] = f
        this.offsets[t] = offset
        offset += m.chunks.size[c]!
      }
    }
    this.chunks = new Uint32Array(used)
    for (let c = 0, k = 0; c < n; c++) if (this.first[c + 1]! > this.first[c]!) this.chunks[k++] = c
  }

  /** How many positions `chunk` fills (0 when no assembled file has it). */
  count(chunk: number): number {
    return this.first[chunk + 1]! - this.first[chunk]!
  }

  /** Calls `fn` with the file (index into the manifest's files) and offset of each position `chunk` fills. */
  forEach(chunk: number, fn: (file: number, offset: number) => void): void {
    for (let t = this.first[chunk]!; t < this.first[chunk + 1]!; t++) fn(this.files[t]!, this.offsets[t]!)
  }
}
