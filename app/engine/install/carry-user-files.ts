// Carries the user's own files into a staged version: hard links (a copy across file systems),
// links recreated as links, never followed. The originals stay where they are, so an
// interrupted carry loses nothing and the next attempt starts it again.
import { cp, link, lstat, mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { planCarry, type CarryPlan } from './user-files.ts'

export interface UserFiles extends CarryPlan {
  /** User entries left out of the new version on request (`verify --repair --prune`); they stay in the previous version's folder. */
  readonly pruned: string[]
}

/** Every file or link below `root`, and every empty folder with a trailing "/", as relative paths. */
async function listEntries(root: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(join(root, prefix), { withFileTypes: true })
  if (entries.length === 0 && prefix) return [`${prefix}/`]
  const out: string[] = []
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name
    if (e.isDirectory()) out.push(...(await listEntries(root, rel)))
    else out.push(rel)
  }
  return out.sort()
}

/** Windows and macOS (by default) see names that differ only in case as one. */
const IGNORES_CASE = process.platform === 'win32' || process.platform === 'darwin'

async function carryOne(from: string, to: string): Promise<void> {
  if (to.endsWith('/')) {
    await mkdir(to, { recursive: true })
    return
  }
  await mkdir(dirname(to), { recursive: true })
  // Only a carry from an earlier attempt can be there: the plan never targets a release path.
  await rm(to, { force: true })
  if ((await lstat(from)).isSymbolicLink()) await symlink(await readlink(from), to)
  else await link(from, to).catch(() => cp(from, to, { preserveTimestamps: true }))
}

/** Links every user entry of `installDir` into `stagingDir`, where the plan puts it; `prune` carries none. */
export async function carryUserFiles(installDir: string, stagingDir: string, oldPaths: readonly string[], newPaths: readonly string[], prune: boolean): Promise<UserFiles> {
  const found = await listEntries(installDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return []
    throw err
  })
  const plan = planCarry(found, new Set(oldPaths), newPaths, IGNORES_CASE)
  if (prune) return { kept: [], movedAside: [], pruned: [...plan.kept, ...plan.movedAside.map((m) => m.from)].sort() }
  for (const path of plan.kept) await carryOne(join(installDir, path), join(stagingDir, path))
  for (const m of plan.movedAside) await carryOne(join(installDir, m.from), join(stagingDir, m.to))
  return { ...plan, pruned: [] }
}
