// Pure: which entries of an install folder belong to the user, and where each goes in the new
// version. Anything not in the old release is the user's; it keeps its path unless the new
// release now puts a file or a folder there, in which case the conflicting name gets a
// `.user-N` suffix (a folder's whole content moves with it).

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
 * `found`: every file or link in the install folder (relative paths); `oldPaths`: the installed
 * release's files; `newPaths`: the next release's files. Entries of the old release are not the
 * user's and are left out.
 */
export function planCarry(found: readonly string[], oldPaths: ReadonlySet<string>, newPaths: readonly string[]): CarryPlan {
  const newFiles = new Set(newPaths)
  const newFolders = foldersOf(newPaths)
  const user = found.filter((p) => !oldPaths.has(p))
  const taken = new Set([...newFiles, ...newFolders, ...user, ...foldersOf(user)])
  const renamed = new Map<string, string>()
  const rename = (prefix: string): string => {
    let to = renamed.get(prefix)
    for (let n = 1; to === undefined; n++) {
      const candidate = `${prefix}.user-${n}`
      if (taken.has(candidate)) continue
      to = candidate
      taken.add(to)
      renamed.set(prefix, to)
    }
    return to
  }
  const plan: CarryPlan = { kept: [], movedAside: [] }
  for (const path of user) {
    const parts = path.split('/')
    let conflict = -1
    for (let i = 0; i < parts.length && conflict < 0; i++) {
      const prefix = parts.slice(0, i + 1).join('/')
      const last = i === parts.length - 1
      if (newFiles.has(prefix) || (last && newFolders.has(prefix))) conflict = i
    }
    if (conflict < 0) {
      plan.kept.push(path)
      continue
    }
    const head = rename(parts.slice(0, conflict + 1).join('/'))
    plan.movedAside.push({ from: path, to: [head, ...parts.slice(conflict + 1)].join('/') })
  }
  return plan
}
