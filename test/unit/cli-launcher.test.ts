import { execFile } from 'node:child_process'
import { cp, readdir, symlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { launcherEnv, SHOAL_LAUNCHER } from '../../app/cli/launcher.ts'
import { useTempDirs } from '../support/temp-dir.ts'

const run = promisify(execFile)
const tempDir = useTempDirs()

describe('bin/shoal', () => {
  it('runs the CLI through a symlink (as npm links it) and fills the compile cache in the user cache folder', async () => {
    const dir = await tempDir()
    const link = join(dir, 'shoal')
    await symlink(SHOAL_LAUNCHER, link)
    const { stdout } = await run(link, ['-V'], { env: launcherEnv({ ...process.env, XDG_CACHE_HOME: join(dir, 'cache') }) })
    expect(stdout.trim()).toBe('0.1.0')
    expect((await readdir(join(dir, 'cache', 'shoal', 'compile-cache'), { recursive: true })).length).toBeGreaterThan(0)
  })

  // The system's Node here is 20 (/usr/bin/node), which cannot load the TypeScript entry.
  const oldNode = { ...process.env, PATH: '/usr/bin:/bin' }

  it("runs on the project's Node in .tools/ when the Node on PATH is too old", async () => {
    const { stdout } = await run(SHOAL_LAUNCHER, ['-V'], { env: oldNode })
    expect(stdout.trim()).toBe('0.1.0')
  })

  it('without .tools/, says in one line which Node it needs when the Node on PATH is too old, and runs on a new one', async () => {
    const dir = await tempDir()
    await cp(dirname(SHOAL_LAUNCHER), join(dir, 'bin'), { recursive: true })
    await symlink(join(dirname(SHOAL_LAUNCHER), '..', 'app'), join(dir, 'app'))
    const launcher = join(dir, 'bin', 'shoal')
    const failed = await run(launcher, ['-V'], { env: oldNode }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    )
    expect(failed.code).toBe(1)
    expect(failed.stderr).toMatch(/^shoal: needs Node\.js 24 \(from nodejs\.org, or run sh \.ci\/setup .*found v\d+\.\d+\.\d+ at \/usr\/bin\/node\n$/)
    const { stdout } = await run(launcher, ['-V'], { env: launcherEnv(oldNode) })
    expect(stdout.trim()).toBe('0.1.0')
  })
})
