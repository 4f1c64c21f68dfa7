import { mkdir, open, rm } from 'node:fs/promises'
import { dirname } from 'node:path'

/** Creates (or keeps) a staged file at `bytes` long, sparse until filled; never one hard-linked elsewhere. */
export async function createSized(path: string, bytes: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const handle = await open(path, 'a')
  try {
    const { size, nlink } = await handle.stat()
    if (nlink > 1) throw new Error('linked')
    if (size !== bytes) await handle.truncate(bytes)
  } catch {
    await handle.close()
    // A hard link left by an earlier attempt must not be written through: replace it.
    await rm(path, { force: true })
    const fresh = await open(path, 'w')
    await fresh.truncate(bytes)
    await fresh.close()
    return
  }
  await handle.close()
}
