import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeFileAtomic, writePartsAtomic } from '../../../app/release/atomic-file.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()

describe('atomic files', () => {
  it('writes parts one after another over the old content, and leaves no temporary file', async () => {
    const dir = await tempDir()
    const path = join(dir, 'record')
    await writeFileAtomic(path, 'an older and longer content than the new one')
    function* parts() {
      yield '{"a":"'
      yield Buffer.from('bytes')
      yield '"}'
    }
    await writePartsAtomic(path, parts())
    expect(await readFile(path, 'utf8')).toBe('{"a":"bytes"}')
    expect(await readdir(dir)).toEqual(['record'])
  })
})
