import { execFile } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
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

/** A build folder of 4 incompressible files adding up to `size` bytes, the same for the same `name`. */
export async function randomBuild(dir: string, name: string, size: number): Promise<void> {
  await mkdir(dir, { recursive: true })
  for (let i = 0; i < 4; i++) await writeFile(join(dir, `asset${i}.pak`), seededBytes(`${name}-${i}`, size / 4))
}
