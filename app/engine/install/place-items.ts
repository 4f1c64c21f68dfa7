// The flat form of a placement task's items and targets (see PlaceTask): one builder for chunks
// placed whole (from the CDN or the install) and for chunk slices carried by a peer's piece.
import type { ChunkTargets } from './chunk-targets.ts'
import { ITEM_FIELDS, TARGET_FIELDS } from './placement-tasks.ts'

export interface PlaceItem {
  readonly chunk: number
  /** Offset of the item's stored bytes in the task's source. */
  readonly at: number
  readonly stored: number
  readonly size: number
  /** Added to every target offset: a slice that starts inside its chunk. */
  readonly shift: number
}

export interface PlaceItems {
  readonly paths: string[]
  readonly items: Float64Array
  readonly targets: Float64Array
}

/** Every place each item goes in the staged files, with each file's path listed once. */
export function placeItems(list: readonly PlaceItem[], targetsOf: ChunkTargets, stagedPath: (file: number) => string): PlaceItems {
  const paths: string[] = []
  const pathIndex = new Map<number, number>()
  let count = 0
  for (const e of list) count += targetsOf.count(e.chunk)
  const items = new Float64Array(list.length * ITEM_FIELDS)
  const targets = new Float64Array(count * TARGET_FIELDS)
  let t = 0
  list.forEach((e, i) => {
    const f = i * ITEM_FIELDS
    items[f] = e.at
    items[f + 1] = e.stored
    items[f + 2] = e.size
    items[f + 3] = t
    items[f + 4] = targetsOf.count(e.chunk)
    targetsOf.forEach(e.chunk, (file, offset) => {
      let p = pathIndex.get(file)
      if (p === undefined) {
        p = paths.push(stagedPath(file)) - 1
        pathIndex.set(file, p)
      }
      targets[t * TARGET_FIELDS] = p
      targets[t * TARGET_FIELDS + 1] = offset + e.shift
      t++
    })
  })
  return { paths, items, targets }
}
