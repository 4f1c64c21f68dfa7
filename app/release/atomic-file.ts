import { open, rename } from 'node:fs/promises'

/** Replaces `path` so readers see the old or the new content, never a torn file. */
export async function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  await writePartsAtomic(path, [data], mode)
}

/** As writeFileAtomic, with the content given in parts, written one after another: a large file need not be joined in memory first. */
export async function writePartsAtomic(path: string, parts: Iterable<Uint8Array | string>, mode = 0o644): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`
  const handle = await open(tmp, 'w', mode)
  try {
    for (const part of parts) await handle.writeFile(part)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(tmp, path)
}
