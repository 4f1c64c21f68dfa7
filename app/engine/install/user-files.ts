// Pure: which entries of an install folder belong to the user, and where each goes in the new
// version. Anything not in the old release is the user's; it keeps its path unless the new
// release now puts a file or a folder there, in which case the conflicting name gets a
// `.user-N` suffix (a folder's whole content moves with it). On a file system that ignores case,
// names that differ only in case conflict too.
import { foldCase } from '../../../shared/safe-path.ts'

export interface MovedAside {
  readonly from: string
  readonly to: string
}

export interface CarryPlan {
  /** User entries carried at the same path. */
  readonly kept: string[]
  /** User entries whose path the new release takes: kept beside, renamed. */
  readonly movedAside: MovedAside[]
}

/** Every folder that `paths` need, as "/"-separated prefixes. */
function foldersOf(paths: Iterable<string>): Set<string> {
  const folders = new Set<string>()
  for (const path of paths) {
    for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) folders.add(path.slice(0, i))
  }
  return folders
}

/**
 * `found`: every file or link in the install folder (relative paths), and every empty folder
 * with a trailing "/"; `oldPaths`: the installed release's files; `newPaths`: the next release's
 * files. Entries of the old release are not the user's and are left out. `ignoresCase`: the
 * install's file system treats names that differ only in case as one (Windows, macOS).
 */
export function planCarry(found: readonly string[], oldPaths: ReadonlySet<string>, newPaths: readonly string[], ignoresCase = false): CarryPlan {
  const key = ignoresCase ? foldCase : (p: string) => p
  const newFiles = new Set(newPaths.map(key))
  const newFolders = new Set([...foldersOf(newPaths)].map(key))
  const oldFolders = new Set([...foldersOf(oldPaths)].map(key))
  const old = new Set([...oldPaths].map(key))
  // An empty folder of the old release, or one the new release makes anyway, needs no carrying.
  const user = found.filter((p) => (p.endsWith('/') ? !oldFolders.has(key(p.slice(0, -1))) && !newFolders.has(key(p.slice(0, -1))) : !old.has(key(p))))
  const taken = new Set([...newFiles, ...newFolders, ...user, ...foldersOf(user)].map(key))
  const renamed = new Map<string, string>()
  const rename = (prefix: string): string => {
    let to = renamed.get(key(prefix))
    for (let n = 1; to === undefined; n++) {
      const candidate = `${prefix}.user-${n}`
      if (taken.has(key(candidate))) continue
      to = candidate
      taken.add(key(to))
      renamed.set(key(prefix), to)
    }
    return to
  }
  const plan: CarryPlan = { kept: [], movedAside: [] }
  for (const path of user) {
    const parts = path.replace(/\/$/, '').split('/')
    let conflict = -1
    for (let i = 0; i < parts.length && conflict < 0; i++) {
      const prefix = key(parts.slice(0, i + 1).join('/'))
      const last = i === parts.length - 1
      if (newFiles.has(prefix) || (last && !path.endsWith('/') && newFolders.has(prefix))) conflict = i
    }
    if (conflict < 0) {
      plan.kept.push(path)
      continue
    }
    const head = rename(parts.slice(0, conflict + 1).join('/'))
    plan.movedAside.push({ from: path, to: [head, ...parts.slice(conflict + 1)].join('/') + (path.endsWith('/') ? '/' : '') })
  }
  return plan
}
