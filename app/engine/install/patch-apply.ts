// Builds changed files from the installed version and their staged patches, in the placement
// workers, each result checked against the file's SHA-256 before it is written to staging.
import { mkdir, readdir, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Manifest } from '../../../shared/release-schema.ts'
import type { WorkerPool } from '../../release/worker-pool.ts'
import { crashPoint } from './crash-points.ts'
import type { PlannedPatch } from './install-plan.ts'
import type { InstallPaths } from './install-paths.ts'
import { isOwnedFile } from './owned-file.ts'
import type { ApplyPatchResult, ApplyPatchTask, PlacementResult, PlacementTask } from './placement-tasks.ts'
import type { PlacedFrom } from './stager.ts'

export interface PatchOutcome {
  readonly path: string
  readonly fromPath: string
  readonly bytes: number
  readonly seconds: number
  readonly failure: ApplyPatchResult['failure']
}

export interface PatchApplyContext {
  readonly manifest: Manifest
  readonly installDir: string
  readonly workers: WorkerPool<PlacementTask, PlacementResult>
  readonly stagedPath: (file: number) => string
  readonly onPlaced: (from: PlacedFrom, bytes: number) => void
  readonly onWasted: (bytes: number) => void
  readonly onPatch: (outcome: PatchOutcome) => void
}

/** Applies each staged patch; returns the files (indices into the manifest's files) whose patch failed. */
export async function applyStagedPatches(patches: readonly { planned: PlannedPatch; patchPath: string }[], c: PatchApplyContext): Promise<number[]> {
  const failed: number[] = []
  await Promise.all(
    patches.map(async ({ planned, patchPath }) => {
      const patch = c.manifest.patches![planned.patch]!
      const file = c.manifest.files[planned.file]!
      const outPath = c.stagedPath(planned.file)
      await mkdir(dirname(outPath), { recursive: true })
      // Never written through a hard link an earlier attempt may have left.
      await rm(outPath, { force: true })
      const task: ApplyPatchTask = { kind: 'applyPatch', oldPath: join(c.installDir, planned.from), oldSha256: patch.fromSha256, patchPath, patchSize: patch.size, outPath, size: file.size, sha256: file.sha256 }
      const r: ApplyPatchResult = (await isOwnedFile(c.installDir, planned.from))
        ? ((await c.workers.run(task)) as ApplyPatchResult)
        : { failure: { code: 'E_VERIFY', reason: 'the installed file it applies to is not a plain file of the install' }, seconds: 0 }
      c.onPatch({ path: file.path, fromPath: planned.from, bytes: patch.size, seconds: r.seconds, failure: r.failure })
      if (r.failure) {
        failed.push(planned.file)
        c.onWasted(patch.size)
        return
      }
      // The rest of the file was rebuilt from the installed one; the patch's own bytes were counted by source as they came.
      c.onPlaced('local', file.size - patch.size)
      crashPoint('patch-applied')
    }),
  )
  return failed
}

export interface PatchReport {
  readonly applied: number
  /** Patch bytes staged (received from the CDN or peers, or kept from an interrupted run). */
  readonly bytes: number
  readonly fellBack: { readonly path: string; readonly code: string; readonly reason: string }[]
  /** Time the workers spent applying patches. */
  readonly applyCpuSeconds: number
}

export function patchReport(outcomes: readonly PatchOutcome[]): PatchReport {
  const applied = outcomes.filter((o) => !o.failure)
  return {
    applied: applied.length,
    bytes: applied.reduce((n, o) => n + o.bytes, 0),
    fellBack: outcomes.flatMap((o) => (o.failure ? [{ path: o.path, code: o.failure.code, reason: o.failure.reason }] : [])),
    applyCpuSeconds: outcomes.reduce((n, o) => n + o.seconds, 0),
  }
}

/** After a switch, only the installed version's patches stay beside the install, for its seeding; none when it used none. */
export async function keepPatchesOf(paths: InstallPaths, version: string | undefined): Promise<void> {
  const versions = await readdir(paths.patches).catch(() => [])
  for (const v of versions) if (v !== version) await rm(join(paths.patches, v), { recursive: true, force: true })
  if (version === undefined) await rm(paths.patches, { recursive: true, force: true })
}
