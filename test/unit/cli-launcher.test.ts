import { execFile } from 'node:child_process'
import { readdir, symlink } from 'node:fs/promises'
import { join } from 'node:path'
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
})
