import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EarlyWriteback } from '../../../app/engine/install/early-writeback.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()

describe('early writeback', () => {
  it('starts no writeback below its threshold', async () => {
    const w = new EarlyWriteback(() => '/nonexistent/shoal-file', 100)
    w.placed(0, 60)
    w.placed(0, 39)
    await expect(w.settle()).resolves.toBeUndefined()
  })

  it('syncs a file past its threshold, and keeps a failure for settle to report', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'good'), 'staged bytes')
    const paths = [join(dir, 'good'), join(dir, 'missing')]
    const w = new EarlyWriteback((file) => paths[file]!, 100)
    w.placed(0, 100)
    await expect(w.settle()).resolves.toBeUndefined()
    w.placed(1, 150)
    await expect(w.settle()).rejects.toThrow(/ENOENT/)
  })
})
