import type { KeyObject } from 'node:crypto'
import { lstat } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { ShoalError } from '../../../shared/errors.ts'
import { listFiles } from '../../release/list-files.ts'
import { decodeManifest } from '../../release/manifest-codec.ts'
import { WorkerPool } from '../../release/worker-pool.ts'
import { readInstalledRow } from '../../store/installs-table.ts'
import type { StateDb } from '../../store/state-db.ts'
import { forgetVerifiedFiles } from '../../store/verified-files-table.ts'
import { chunkDigests } from './install-plan.ts'
import { installPaths } from './install-paths.ts'
import { isOwnedFile } from './owned-file.ts'
import type { PlacementResult, PlacementTask, VerifyFileResult } from './placement-tasks.ts'

export interface VerifyReport {
  readonly product: string
  readonly version: string
  readonly files: number
  /** Files whose content or mode differs from the manifest, or that are missing. */
  readonly damaged: string[]
  /** Files in the folder that the release does not have. */
  readonly extra: string[]
}

/** Rechecks every file of an install against its manifest: chunk hashes, file SHA-256, size and mode. */
export async function verifyInstall(db: StateDb, installDir: string, publicKey: KeyObject): Promise<VerifyReport> {
  const paths = installPaths(installDir)
  const row = readInstalledRow(db, paths.install)
  if (!row) throw new ShoalError('E_NOT_INSTALLED', `${paths.install} holds no Shoal install`, 'install it with `shoal get` first')
  const manifest = decodeManifest(row.manifest, publicKey, `installed manifest of ${paths.install}`)
  const digests = chunkDigests(manifest)
  const workers = new WorkerPool<PlacementTask, PlacementResult>(new URL('./placement-worker.ts', import.meta.url), Math.max(1, availableParallelism()))
  try {
    const checks = manifest.files.map(async (f) => {
      if (!(await isOwnedFile(paths.install, f.path))) return f.path
      const path = join(paths.install, f.path)
      const task = { kind: 'verifyFile', path, sizes: f.chunks.map((c) => manifest.chunks.size[c]!), sha256s: f.chunks.map((c) => digests[c]!), fileSha256: f.sha256 } as const
      const { fileOk } = (await workers.run(task)) as VerifyFileResult
      const mode = await lstat(path).then((s) => s.mode & 0o777, () => -1)
      return fileOk && mode === f.mode ? undefined : f.path
    })
    const damaged = (await Promise.all(checks)).filter((p) => p !== undefined)
    // Damage that kept a file's identity (bit rot) would otherwise be served to peers unhashed.
    if (damaged.length > 0) forgetVerifiedFiles(db, paths.install)
    const known = new Set(manifest.files.map((f) => f.path))
    const extra = (await listFiles(paths.install).catch(() => [])).filter((p) => !known.has(p))
    return { product: manifest.product, version: manifest.version, files: manifest.files.length, damaged, extra }
  } finally {
    await workers.close()
  }
}
