// How another Node program starts the `shoal` CLI the way users do: through bin/shoal, with its
// heap and malloc settings. The launcher prefers the project's Node in .tools/; without it, it
// runs the first `node` on PATH, which launcherEnv makes the caller's own.
import { delimiter, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

export const SHOAL_LAUNCHER = fileURLToPath(new URL('../../bin/shoal', import.meta.url))

/** `env` with this process's Node first on PATH: the launcher runs the first `node` there. */
export function launcherEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, PATH: `${dirname(process.execPath)}${delimiter}${env['PATH'] ?? ''}` }
}
