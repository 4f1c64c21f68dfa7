// Bytes this process caused to be written to storage, for `done` lines and the bench.
import { readFileSync } from 'node:fs'

/**
 * `write_bytes` from /proc/self/io: what this process and its threads sent to the storage
 * layer (staged files, the state database, its journal), counted when pages are dirtied, so a
 * file rewritten in the page cache counts each time. Undefined where /proc has no io file.
 */
export function diskBytesWritten(): number | undefined {
  try {
    const bytes = /^write_bytes:\s+(\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1]
    return bytes === undefined ? undefined : Number(bytes)
  } catch {
    return undefined
  }
}
