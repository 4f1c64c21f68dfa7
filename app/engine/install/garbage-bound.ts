// Explicit full collections, where bin/shoal exposes them (`--expose-gc`; `node app/cli/shoal.ts`
// runs without, and then nothing is collected here).
//
// V8 sizes a heap from what its last full collection left, and bin/shoal lets it grow to 4x that
// (`--heap-growing-percent=300`, for the swarm's CPU: see bin/shoal). Download tasks leave a little
// garbage that outlives the 1 MiB young generation, so the main thread's and each placement
// worker's heap grew with the download's length: a 4 GiB install from a file: mirror held 200 MiB
// through its download, 164 MiB with a collection every COLLECT_EVERY_BYTES moved, and the
// garbage is bounded by those bytes whatever the release's size.
const exposed = (globalThis as { gc?: () => void }).gc ?? (() => {})

/**
 * A full collection now, when exposed. Called between an install's phases that leave large
 * garbage: on a heap this small V8 did not collect it by itself before the download peaked, and
 * a 1 GiB install peaked at 171-216 MiB depending on when it did.
 */
export function collectGarbage(): void {
  exposed()
}

export const COLLECT_EVERY_BYTES = 256 * 1024 * 1024

/** Counts bytes moved and collects each time another `every` have gone by. */
export function garbageBound(every = COLLECT_EVERY_BYTES, collect: () => void = exposed): (bytes: number) => void {
  let since = 0
  return (bytes) => {
    since += bytes
    if (since < every) return
    since = 0
    collect()
  }
}
