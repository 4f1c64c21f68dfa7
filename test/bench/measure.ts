import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { seededBytes } from '../../app/demo/sample-build.ts'
import { promisify } from 'node:util'

export const run = promisify(execFile)

export interface Timing {
  readonly median: number
  readonly all: number[]
}

/** Runs `fn` `repeat` times and keeps the median wall time in seconds. */
export async function timeIt(repeat: number, fn: () => Promise<unknown>): Promise<Timing> {
  const all: number[] = []
  for (let i = 0; i < repeat; i++) {
    const t = performance.now()
    await fn()
    all.push((performance.now() - t) / 1000)
  }
  const sorted = [...all].sort((a, b) => a - b)
  return { median: sorted[Math.floor(sorted.length / 2)]!, all }
}

export const mbps = (bytes: number, seconds: number) => bytes / 1e6 / seconds

/** CPU seconds a process used, its threads included. */
export interface Cpu {
  readonly user: number
  readonly system: number
}

/** Runs a command and returns the CPU time it used, from the shell's `times` (children's line). */
export async function cpuOf(argv: readonly string[]): Promise<Cpu> {
  const { stdout } = await run('sh', ['-c', '"$@" >/dev/null && times', 'sh', ...argv])
  const children = stdout.trim().split('\n').at(-1)!
  const [user, system] = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]))
  return { user: user!, system: system! }
}

/** Wall time and peak memory of a finished command, and what it printed. */
export interface Measured {
  readonly seconds: number
  /** The command's peak RSS, the largest of its own and its waited-for children's. */
  readonly peakRssBytes: number
  readonly stdout: string
}

/**
 * Runs a command under GNU time (Debian's `time`, which .ci/setup installs). Its wait4() figure is
 * the one that survives the exit: /proc's VmHWM is gone once the process ends. It is not inflated
 * by the bench's own pages as getrusage in the child would be (see app/cli/peak-rss.ts): the child
 * is forked from `time`, a small process, not from the bench.
 */
export async function measured(argv: readonly string[], o: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Measured> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-time-'))
  try {
    const report = join(dir, 'time')
    const { stdout } = await run('/usr/bin/time', ['-o', report, '-f', '%e %M', ...argv], { ...o, maxBuffer: 1 << 26 })
    const [seconds, kib] = (await readFile(report, 'utf8')).trim().split('\n').at(-1)!.split(' ').map(Number)
    return { seconds: seconds!, peakRssBytes: kib! * 1024, stdout }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** A build folder of 4 incompressible files adding up to `size` bytes, the same for the same `name`. */
export async function randomBuild(dir: string, name: string, size: number): Promise<void> {
  await mkdir(dir, { recursive: true })
  for (let i = 0; i < 4; i++) await writeFile(join(dir, `asset${i}.pak`), seededBytes(`${name}-${i}`, size / 4))
}
