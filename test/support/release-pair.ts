import { join } from 'node:path'
import { startNginx, type Nginx } from './nginx.ts'
import type { Fixture } from './release-fixture.ts'
import { treeHash } from './tree-hash.ts'

export interface ServedPair {
  readonly nginx: Nginx
  readonly v1Tree: Record<string, string>
  readonly v2Tree: Record<string, string>
}

/** Publishes two builds (1.0.0 on `stable`, 1.1.0 on `beta`) and serves the CDN folder from nginx. */
export async function serveReleasePair(f: Fixture, dir: string, v1: string, v2: string): Promise<ServedPair> {
  for (const [build, version, channel] of [[v1, '1.0.0', 'stable'], [v2, '1.1.0', 'beta']] as const) {
    const run = await f.publish(build, version, ['--channel', channel])
    if (run.code !== 0) throw new Error(`publish ${version} failed: ${run.stderr}`)
  }
  return { nginx: await startNginx(f.cdn, join(dir, 'nginx')), v1Tree: await treeHash(v1), v2Tree: await treeHash(v2) }
}

export interface Client {
  readonly install: string
  readonly data: string
  /** Where the previous version is kept after an update. */
  readonly backup: string
}

/** Each call gives a fresh install folder and data dir under `dir`. */
export function clientFactory(dir: () => string): () => Client {
  let n = 0
  return () => {
    n++
    return { install: join(dir(), `install-${n}`), data: join(dir(), `data-${n}`), backup: join(dir(), `.install-${n}.shoal-previous`) }
  }
}
