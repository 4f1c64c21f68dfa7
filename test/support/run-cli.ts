import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('../../app/cli/shoal.ts', import.meta.url))

export interface CliRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  /** stdout parsed as JSON lines (for --json runs). */
  readonly events: Record<string, unknown>[]
  readonly last: Record<string, unknown>
}

/** `wrap`: a command the CLI runs under, e.g. `ip netns exec NS` (test/support/netns.ts). */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, wrap: readonly string[] = []): Promise<CliRun> {
  const argv = [...wrap, process.execPath, CLI, ...args]
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0
      const events = args.includes('--json') ? stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : []
      resolve({ code, stdout, stderr, events, last: events.at(-1) ?? {} })
    })
  })
}
