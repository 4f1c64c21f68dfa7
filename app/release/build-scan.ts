import { lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ShoalError } from '../../shared/errors.ts'
import { pathSetProblem } from '../../shared/safe-path.ts'

export interface BuildFile {
  /** Release-relative path with "/" separators. */
  readonly path: string
  readonly absolute: string
  readonly size: number
  readonly mode: 0o644 | 0o755
  /** Detects a build that changes while it is being published. */
  readonly mtimeMs: number
}

/** Lists a build's regular files in a stable order, refusing anything that cannot be installed safely. */
export async function scanBuild(root: string): Promise<BuildFile[]> {
  const rootStat = await lstat(root).catch(() => undefined)
  if (!rootStat?.isDirectory()) throw new ShoalError('E_USAGE', `build folder ${root} does not exist or is not a folder`)
  const files: BuildFile[] = []
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true })
    for (const entry of entries) {
      const rel = prefix + entry.name
      const abs = join(dir, entry.name)
      if (entry.isDirectory()) await walk(abs, rel + '/')
      else if (entry.isFile()) {
        const st = await lstat(abs)
        files.push({ path: rel, absolute: abs, size: st.size, mode: st.mode & 0o111 ? 0o755 : 0o644, mtimeMs: st.mtimeMs })
      } else {
        throw new ShoalError('E_UNSAFE_PATH', `build file "${rel}" is a symlink or special file`, 'replace links with the files they point to; releases carry regular files only')
      }
    }
  }
  await walk(root, '')
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const problem = pathSetProblem(files.map((f) => f.path))
  if (problem) throw new ShoalError('E_UNSAFE_PATH', `build file "${problem.path}" ${problem.reason}`, 'rename it; nothing was published')
  if (files.length === 0) throw new ShoalError('E_USAGE', `build folder ${root} holds no files`)
  return files
}
