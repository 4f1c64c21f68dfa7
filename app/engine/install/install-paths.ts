import { realpathSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'

export interface InstallPaths {
  readonly install: string
  readonly staging: string
  readonly backup: string
  readonly aside: string
  /** The folder's lock (see dir-lock.ts). */
  readonly lock: string
  /** Patches staged for an update, kept after it so the install's seeding can serve them (see patchBlobPath). */
  readonly patches: string
  /** The installed release as the last switch left it, for processes with other data dirs (see release-record.ts). */
  readonly record: string
}

/** Where patch `k` (an index into the manifest's patches) of `version` is staged and kept. */
export function patchBlobPath(paths: InstallPaths, version: string, k: number): string {
  return join(paths.patches, version, `patch-${k}`)
}

/**
 * The real path of `dir`, links resolved, whether or not it exists yet: a game folder linked to
 * another disk is worked on where it really is, or renaming it would replace the link.
 */
function realPath(dir: string): string {
  const path = resolve(dir)
  try {
    return realpathSync(path)
  } catch {
    const parent = dirname(path)
    return parent === path ? path : join(realPath(parent), basename(path))
  }
}

/** Staging, backup and lock sit next to the install, on the same file system, never inside it. */
export function installPaths(dir: string): InstallPaths {
  const install = realPath(dir)
  const parent = dirname(install)
  const name = basename(install)
  const beside = (what: string) => join(parent, `.${name}.shoal-${what}`)
  return { install, staging: beside('staging'), backup: beside('previous'), aside: beside('aside'), lock: beside('lock'), patches: beside('patches'), record: beside('release') }
}
