import { describe, expect, it } from 'vitest'
import { pathSetProblem, unsafePathReason } from '../../../shared/safe-path.ts'

describe('release paths', () => {
  it.each([
    ['', /empty/],
    ['/etc/passwd', /absolute/],
    ['../x', /".."/],
    ['a/../../x', /".."/],
    ['a/./b', /"."/],
    ['C:/win.ini', /drive letter/],
    ['c:x', /drive letter/],
    ['a\\b', /backslash/],
    ['a\u0000b', /NUL/],
    ['a//b', /empty segment/],
    ['a/', /empty segment/],
    ['dir/CON.txt', /reserved Windows name/],
    ['x/nul', /reserved Windows name/],
    ['COM¹', /reserved Windows name/],
    ['lpt³.txt', /reserved Windows name/],
    ['CONIN$', /reserved Windows name/],
    ['a/conout$.log', /reserved Windows name/],
    ['NUL .tar.gz', /reserved Windows name/],
    ['name.', /ending in a dot/],
    ['what?', /Windows forbids/],
    ['cafe\u0301', /NFC/],
    ['a'.repeat(300), /longer than 255/],
  ])('refuses %j', (path, reason) => {
    expect(unsafePathReason(path)).toMatch(reason)
  })

  it.each(['a', 'bin/game', 'data/sounds/sfx 001.ogg', 'é/ü.txt', '.hidden/x', 'console', 'com10', 'com'])('accepts %j', (path) => {
    expect(unsafePathReason(path)).toBeUndefined()
  })

  it('refuses case-insensitive duplicates and a file used as a folder', () => {
    expect(pathSetProblem(['Readme.txt', 'README.TXT'])?.reason).toMatch(/case-insensitive/)
    expect(pathSetProblem(['data', 'Data/x'])?.reason).toMatch(/folder/)
    expect(pathSetProblem(['a/b', 'a/c', 'b'])).toBeUndefined()
  })

  it.each([
    ['ſ.txt', 's.txt'],
    ['ı.txt', 'I.txt'],
    ['i.txt', 'ı.txt'],
    ['ǅ.bin', 'ǆ.bin'],
    ['straße', 'STRASSE'],
    ['ς', 'σ'],
  ])('folds %j and %j together, as case-insensitive file systems do', (a, b) => {
    expect(pathSetProblem([a, b])?.reason).toMatch(/case-insensitive/)
    expect(pathSetProblem([`${a}/x`, b])?.reason).toMatch(/folder/)
  })
})
