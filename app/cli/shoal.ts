#!/usr/bin/env node
// The `shoal` entry. It turns on Node's module compile cache before anything else loads, so a
// warm start reads code already stripped of types and compiled (loading the CLI took 0.56-0.72 s
// without it, 0.26-0.31 s with it), then runs the program. Only `node:` modules and the tiny
// cache-folder helper are imported statically here: anything else would be compiled first.
import { enableCompileCache } from 'node:module'
import { userCompileCache } from '../release/compile-cache.ts'

if (import.meta.main) {
  try {
    enableCompileCache(userCompileCache())
  } catch {
    // A cache folder that cannot be created only costs start-up time.
  }
  const { runCli } = await import('./program.ts')
  await runCli(process.argv)
}
