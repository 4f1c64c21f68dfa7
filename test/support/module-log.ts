// Preloaded into a process under test (`NODE_OPTIONS=--import=<this file's URL>`, see
// `moduleLogEnv`): appends the URL of every module the process loads, ES and CommonJS, one a
// line, to the file SHOAL_MODULE_LOG names, as each loads. A test reads it while the process
// runs to see what it has loaded so far (`loadedModules`).
import { appendFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { registerHooks } from 'node:module'

const log = process.env['SHOAL_MODULE_LOG']
if (log) {
  registerHooks({
    load(url, context, nextLoad) {
      appendFileSync(log, url + '\n')
      return nextLoad(url, context)
    },
  })
}

/** The environment that makes a child process log its modules to `file`. */
export function moduleLogEnv(file: string): NodeJS.ProcessEnv {
  return { NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import=${import.meta.url}`.trim(), SHOAL_MODULE_LOG: file }
}

/** The module URLs the process has loaded so far. */
export async function loadedModules(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean)
}
