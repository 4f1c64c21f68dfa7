import { createHash } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'

/** path → "mode sha256" for every file below `root`, to compare two trees exactly. */
export async function treeHash(root: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const e of await readdir(join(root, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name
    if (e.isDirectory()) Object.assign(out, await treeHash(root, rel))
    else {
      const path = join(root, rel)
      const mode = (await stat(path)).mode & 0o777
      out[rel] = `${mode.toString(8)} ${createHash('sha256').update(await readFile(path)).digest('hex')}`
    }
  }
  return out
}
