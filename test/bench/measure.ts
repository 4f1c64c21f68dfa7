import { execFile } from 'node:child_process'
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
