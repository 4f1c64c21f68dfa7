// A child process that prints JSON lines (`shoal --json`, the reference peers of the bench):
// its events as they come, its exit code and whole-process wall time, and its peak memory.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'

export type JsonEvent = Record<string, unknown>

export interface JsonProcess {
  readonly pid: number
  /** The first line whose `event` is `event`; rejects when the process ends without one. */
  waitFor(event: string): Promise<JsonEvent>
  /** Exit code (null after a signal or a failed spawn) and wall time from spawn. */
  readonly exit: Promise<{ readonly code: number | null; readonly seconds: number }>
  /** Peak RSS so far (VmHWM from /proc), while the process runs. */
  peakRss(): Promise<number>
  /** CPU seconds so far, user and system, every thread (from /proc), while the process runs. */
  cpuSeconds(): Promise<number>
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>
}

export async function peakRssOfPid(pid: number): Promise<number> {
  const kib = /^VmHWM:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''))?.[1]
  return Number(kib ?? 0) * 1024
}

/** Clock ticks per second in /proc/PID/stat: USER_HZ, 100 on Linux. */
const USER_HZ = 100

export async function cpuSecondsOfPid(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / USER_HZ
}

export function jsonProcess(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): JsonProcess {
  const started = performance.now()
  const child: ChildProcess = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] })
  const events: JsonEvent[] = []
  const waiting = new Map<string, ((e: JsonEvent) => void)[]>()
  let buffered = ''
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString()
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i)
      buffered = buffered.slice(i + 1)
      if (!line.startsWith('{')) continue
      const e = JSON.parse(line) as JsonEvent
      events.push(e)
      for (const resolve of waiting.get(e['event'] as string) ?? []) resolve(e)
      waiting.delete(e['event'] as string)
    }
  })
  const exit = new Promise<{ code: number | null; seconds: number }>((resolve) => {
    const done = (code: number | null) => resolve({ code, seconds: (performance.now() - started) / 1000 })
    // "close", not "exit": stdout is drained by then, so a last line is never missed.
    child.once('close', done)
    // A missing command fails the spawn itself.
    child.once('error', () => done(null))
  })
  return {
    pid: child.pid ?? -1,
    cpuSeconds: () => cpuSecondsOfPid(child.pid ?? -1),
    waitFor: (event) => {
      const found = events.find((e) => e['event'] === event)
      if (found) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        waiting.set(event, [...(waiting.get(event) ?? []), resolve])
        void exit.then(({ code }) => {
          const error = events.find((e) => e['event'] === 'error')
          reject(new Error(`${command} ${args.join(' ').slice(0, 80)} exited (${code}) before "${event}"${error ? `: ${JSON.stringify(error)}` : ''}`))
        })
      })
    },
    exit,
    peakRss: () => peakRssOfPid(child.pid ?? -1),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exit
    },
  }
}
