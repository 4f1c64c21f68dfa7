import { readdir } from 'node:fs/promises'
import { join } from 'node:path'

/** Every file below `root`, as sorted "/"-separated relative paths. */
export async function listFiles(root: string, prefix = ''): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(join(root, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name
    if (e.isDirectory()) out.push(...(await listFiles(root, rel)))
    else out.push(rel)
  }
  return out.sort()
}
