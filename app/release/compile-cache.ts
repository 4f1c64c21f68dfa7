import { mkdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

/**
 * The user's own folder for Node's module compile cache (XDG), created private: the CLI entry
 * and the worker pools load code already stripped and compiled from it. A cache, not state.
 */
export function userCompileCache(env: NodeJS.ProcessEnv = process.env): string {
  const dir = join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'shoal', 'compile-cache')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  return dir
}
