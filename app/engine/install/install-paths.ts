import { basename, dirname, join, resolve } from 'node:path'

export interface InstallPaths {
  readonly install: string
  readonly staging: string
  readonly backup: string
  readonly aside: string
}

/** Staging and backup sit next to the install, on the same file system, never inside it. */
export function installPaths(dir: string): InstallPaths {
  const install = resolve(dir)
  const parent = dirname(install)
  const name = basename(install)
  return { install, staging: join(parent, `.${name}.shoal-staging`), backup: join(parent, `.${name}.shoal-previous`), aside: join(parent, `.${name}.shoal-aside`) }
}
