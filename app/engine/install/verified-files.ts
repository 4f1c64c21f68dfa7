// After a switch, the identity of each installed file: the job checked every one of them (an
// assembled or patched file by its SHA-256, an unchanged one by verifyFile or as the same inode),
// so a seeder may serve their pieces without hashing them again while they keep it.
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { saveVerifiedFiles } from '../../store/verified-files-table.ts'
import type { StateDb } from '../../store/state-db.ts'
import { fileIdentity } from '../storage/file-identity.ts'

/** Files stat'ed at once: a release may have 100,000. */
const STATS_AT_ONCE = 64

export async function recordVerifiedFiles(db: StateDb, installDir: string, files: readonly string[]): Promise<void> {
  const identities = new Map<string, string>()
  for (let i = 0; i < files.length; i += STATS_AT_ONCE) {
    await Promise.all(
      files.slice(i, i + STATS_AT_ONCE).map(async (file) => {
        const path = join(installDir, file)
        const st = await stat(path).catch(() => undefined)
        if (st?.isFile()) identities.set(path, fileIdentity(st))
      }),
    )
  }
  saveVerifiedFiles(db, installDir, identities)
}
