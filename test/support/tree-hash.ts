import { createHash } from 'node:crypto'
import { mkdir, open, readdir, readFile, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'

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

/** Content only (modes dropped), for trees whose modes nobody set yet. */
export function contentOnly(tree: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(tree).map(([path, v]) => [path, v.split(' ')[1]!]))
}

/** Every file of a release created at full size and empty (sparse), ready to be written by offset. */
export async function createSparseTree(files: readonly { path: string; size: number }[], root: string): Promise<void> {
  for (const file of files) {
    await mkdir(dirname(join(root, file.path)), { recursive: true })
    const h = await open(join(root, file.path), 'w')
    await h.truncate(file.size)
    await h.close()
  }
}
