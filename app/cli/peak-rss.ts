// The peak resident memory of this process, for `done` lines and the bench.
import { readFileSync } from 'node:fs'

/**
 * Peak RSS of this process, its threads included. getrusage's maxRSS also counts the parent's
 * pages at the fork (Linux keeps it across exec): started by a 230 MiB bench process, every
 * `get` reported 229.7 MiB. /proc's VmHWM is this process image's own high-water mark.
 */
export function peakRssBytes(maxRssKiB = process.resourceUsage().maxRSS): number {
  try {
    const kib = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]
    if (kib) return Number(kib) * 1024
  } catch {
    // No /proc (macOS, Windows): getrusage is the figure there.
  }
  return maxRssKiB * 1024
}
