// The objects of a two-level manifest a client does not have, fetched with HTTP Range requests
// from the index files that hold them (README, "Release format").
import { ShoalError } from '../../shared/errors.ts'
import type { ManifestObject, TopManifest } from '../../shared/release-schema.ts'
import { inflateObject, objectUses } from './manifest-objects.ts'
import { fetchRange } from './resource-fetch.ts'

/** Objects of one index file closer than this are fetched in one range: a request costs more than the bytes between. */
export const OBJECT_RANGE_GAP = 64 * 1024
/** One range holds at most this many bytes, so a hostile top cannot make one huge request. */
const MAX_RANGE_BYTES = 16 * 1024 * 1024

export interface FetchedObjects {
  /** Every raw object of the top, in `objects` order. */
  readonly raws: Buffer[]
  /** Bytes fetched from index files (ranges included gaps). */
  readonly fetchedBytes: number
  readonly fetchedObjects: number
}

interface Run {
  readonly path: string
  readonly start: number
  end: number
  readonly members: number[]
}

/** Merges the missing objects into ranges per index file: sorted by offset, joined across gaps of at most OBJECT_RANGE_GAP. */
export function objectRanges(objects: readonly ManifestObject[], missing: readonly number[]): Run[] {
  const sorted = [...missing].sort((a, b) => objects[a]!.path.localeCompare(objects[b]!.path) || objects[a]!.offset - objects[b]!.offset)
  const runs: Run[] = []
  for (const i of sorted) {
    const o = objects[i]!
    const last = runs.at(-1)
    const end = o.offset + o.size
    if (last && last.path === o.path && o.offset <= last.end + OBJECT_RANGE_GAP && Math.max(end, last.end) - last.start <= MAX_RANGE_BYTES) {
      last.end = Math.max(last.end, end)
      last.members.push(i)
    } else runs.push({ path: o.path, start: o.offset, end, members: [i] })
  }
  return runs
}

/** The raw objects of `top`: from `local` (raw objects by SHA-256) when there, else fetched below `productRoot`. */
export async function fetchObjects(top: TopManifest, local: ReadonlyMap<string, Buffer>, productRoot: URL, what: string): Promise<FetchedObjects> {
  const { unit } = objectUses(top, what)
  const raws: (Buffer | undefined)[] = top.objects.map((o) => local.get(o.sha256))
  const missing = raws.flatMap((raw, i) => (raw ? [] : [i]))
  for (const i of missing) {
    const o = top.objects[i]!
    // zstd never grows data by more than a few bytes per block; anything more is not an honest object.
    if (o.size > 64 + 2 * o.items * unit[i]!) throw new ShoalError('E_LIMIT', `${what}: object ${i} is stored in ${o.size} bytes, more than ${o.items} items can need`)
  }
  let fetchedBytes = 0
  for (const run of objectRanges(top.objects, missing)) {
    const bytes = await fetchRange(new URL(run.path, productRoot), run.start, run.end, `${what} index ${run.path}`)
    fetchedBytes += bytes.length
    for (const i of run.members) {
      const o = top.objects[i]!
      raws[i] = inflateObject(bytes.subarray(o.offset - run.start, o.offset - run.start + o.size), o, unit[i]!, what)
    }
  }
  return { raws: raws as Buffer[], fetchedBytes, fetchedObjects: missing.length }
}
