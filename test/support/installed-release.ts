import { join } from 'node:path'
import { startNginx, type Nginx } from './nginx.ts'
import { makeFixture, type Fixture } from './release-fixture.ts'
import { runCli } from './run-cli.ts'

export interface InstalledRelease {
  readonly f: Fixture & { build: string }
  readonly nginx: Nginx
  readonly pub: string
  readonly channel: string
  readonly install: string
  /** The environment of the client that installed it (its data dir). */
  readonly env: NodeJS.ProcessEnv
}

/** A sample release published as 1.0.0, served by nginx, and installed with `shoal get` into `dir/install`. */
export async function installedRelease(dir: string, bytes: number): Promise<InstalledRelease> {
  const f = await makeFixture(dir, bytes)
  const published = await f.publish(f.build, '1.0.0')
  if (published.code !== 0) throw new Error(`publish failed: ${published.stderr}`)
  const nginx = await startNginx(f.cdn, join(dir, 'nginx'))
  const pub = join(f.keyDir, 'publisher.pub')
  const channel = `${nginx.url}/game/channels/stable.json`
  const install = join(dir, 'install')
  const env = { SHOAL_DATA_DIR: join(dir, 'data') }
  const got = await runCli(['get', channel, '--pubkey', pub, '--dir', install], env)
  if (got.code !== 0) throw new Error(`get failed: ${got.stderr}`)
  return { f, nginx, pub, channel, install, env }
}
