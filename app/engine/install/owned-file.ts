import { lstat } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Whether `rel` below `root` is a regular file reached through real folders only. A link inside
 * an install is foreign (planted, or the user's): reusing a file through it could hard-link or
 * copy something that lives outside the install into the new version.
 */
export async function isOwnedFile(root: string, rel: string): Promise<boolean> {
  const parts = rel.split('/')
  let path = root
  for (const [i, part] of parts.entries()) {
    path = join(path, part)
    const s = await lstat(path).catch(() => undefined)
    if (!s || (i < parts.length - 1 ? !s.isDirectory() : !s.isFile())) return false
  }
  return true
}
