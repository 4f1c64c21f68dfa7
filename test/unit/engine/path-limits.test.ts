import { describe, expect, it } from 'vitest'
import { pathLimits, pathTooLong } from '../../../app/engine/install/path-limits.ts'

describe('pathTooLong', () => {
  const root = '/games/.demo.shoal-previous'

  it('counts the folder the files live under: a path the manifest allows can be too long here', () => {
    const path = 'x/'.repeat(2040) + 'end'
    expect(pathTooLong('/g', [path], pathLimits('linux'))).toBeUndefined()
    expect(pathTooLong(root, ['ok', path], pathLimits('linux'))).toMatchObject({ path, reason: expect.stringMatching(/^is 4111 bytes long .* more than the 4095/) })
  })

  it('measures names in bytes on Linux and macOS, in UTF-16 units on Windows', () => {
    const path = `data/${'é'.repeat(200)}`
    expect(pathTooLong(root, [path], pathLimits('linux'))?.reason).toMatch(/name of 400 bytes/)
    expect(pathTooLong(root, [path], pathLimits('darwin'))?.reason).toMatch(/name of 400 bytes/)
    expect(pathTooLong(root, [path], pathLimits('win32'))).toBeUndefined()
  })

  it('holds macOS to its 1,023 bytes', () => {
    const path = 'a/'.repeat(500) + 'b'
    expect(pathTooLong(root, [path], pathLimits('linux'))).toBeUndefined()
    expect(pathTooLong(root, [path], pathLimits('darwin'))?.path).toBe(path)
  })
})
