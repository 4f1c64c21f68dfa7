import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Why a tmpfs cannot be mounted in a private mount namespace here (root or user namespaces needed); undefined when it can. */
export async function tmpfsUnavailable(): Promise<string | undefined> {
  const probe = await mkdtemp(join(tmpdir(), 'shoal-mnt-probe-'))
  try {
    await run('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o size=1m tmpfs ${probe}`])
    return undefined
  } catch (err) {
    return `cannot mount a tmpfs in a private mount namespace here (${(err as Error).message.split('\n')[0]})`
  } finally {
    await rm(probe, { recursive: true, force: true })
  }
}
