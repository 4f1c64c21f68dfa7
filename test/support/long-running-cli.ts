import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('../../app/cli/shoal.ts', import.meta.url))

export interface LongRunningCli {
  readonly pid: number
  /** The first `--json` line with this event (and matching `match`, when given). */
  waitFor(event: string, match?: (e: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>
  /** Waits for the command to end by itself. */
  exited(): Promise<{ code: number | null; events: Record<string, unknown>[] }>
  /** SIGTERM (or `signal`), then the exit code and every JSON line it printed. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; events: Record<string, unknown>[] }>
}

/** A `shoal` command that runs until stopped (seed, tracker) or watched while it works, with `--json` added. */
/** `wrap`: a command the CLI runs under, e.g. `ip netns exec NS` (test/support/netns.ts). */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, wrap: readonly string[] = []): LongRunningCli {
  const argv = [...wrap, process.execPath, CLI, ...args, '--json']
  const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const events = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
  return {
    pid: child.pid!,
    waitFor: (event, match = () => true) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = events().find((e) => e['event'] === event && match(e))
          if (found) resolve(found)
          return found
        }
        if (check()) return
        const onData = () => check() && child.stdout.off('data', onData)
        child.stdout.on('data', onData)
        void exited.then((code) => reject(new Error(`shoal ${args[0]} exited (${code}) before "${event}"`)))
      }),
    exited: async () => ({ code: await exited, events: events() }),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal)
      return { code: await exited, events: events() }
    },
  }
}
