import { join } from 'node:path'
import { startNginx, type Nginx } from './nginx.ts'
import { makeFixture, type Fixture } from './release-fixture.ts'
import { runCli } from './run-cli.ts'
import { startCli } from './long-running-cli.ts'

export interface InstalledRelease {
  readonly f: Fixture & { build: string }
  readonly nginx: Nginx
  readonly pub: string
  readonly channel: string
  readonly install: string
  /** The environment of the client that installed it (its data dir). */
  readonly env: NodeJS.ProcessEnv
}

/** A sample release published as 1.0.0 (with `publishArgs`), served by nginx, and installed with `shoal get` into `dir/install`. */
export async function installedRelease(dir: string, bytes: number, publishArgs: string[] = []): Promise<InstalledRelease> {
  const f = await makeFixture(dir, bytes)
  const published = await f.publish(f.build, '1.0.0', publishArgs)
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

/** Bytes per source class in a `done` line. */
export type Bytes = { cdn: number; lan: number; wan: number; local: number; wasted: number }
export type Written = { cdn: number; lan: number; wan: number; local: number }

/** An installed release seeded by `shoal seed` with `seedArgs`; nginx and the seeder stop with `cleanups` (last first). */
export async function seededRelease(dir: string, bytes: number, seedArgs: readonly string[], cleanups: (() => Promise<unknown>)[]) {
  const release = await installedRelease(dir, bytes)
  cleanups.push(() => release.nginx.stop())
  const seeder = startCli(['seed', '--dir', release.install, '--pubkey', release.pub, ...seedArgs], release.env)
  cleanups.push(() => seeder.stop())
  const { port } = (await seeder.waitFor('seeding')) as { port: number }
  return { ...release, seeder, port }
}
