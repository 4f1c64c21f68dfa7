import { describe, expect, it } from 'vitest'
import { planCarry } from '../../../app/engine/install/user-files.ts'

describe('planCarry', () => {
  const old = new Set(['bin/game', 'data/a.pak', 'data/old.pak'])

  it('leaves out the old release files and keeps the user entries at their paths', () => {
    expect(planCarry(['bin/game', 'data/a.pak', 'saves/1.sav', 'data/mine.txt'], old, ['bin/game', 'data/a.pak'])).toEqual({ kept: ['saves/1.sav', 'data/mine.txt'], movedAside: [] })
  })

  it('moves a user file aside when the new release puts a file at its path', () => {
    expect(planCarry(['data/new.pak'], old, ['data/new.pak'])).toEqual({ kept: [], movedAside: [{ from: 'data/new.pak', to: 'data/new.pak.user-1' }] })
  })

  it('moves a user folder aside whole when the new release has a file there', () => {
    expect(planCarry(['data/old.pak/x', 'data/old.pak/y/z'], old, ['data/old.pak'])).toEqual({
      kept: [],
      movedAside: [
        { from: 'data/old.pak/x', to: 'data/old.pak.user-1/x' },
        { from: 'data/old.pak/y/z', to: 'data/old.pak.user-1/y/z' },
      ],
    })
  })

  it('moves a user file aside when the new release needs a folder there', () => {
    expect(planCarry(['mods'], old, ['mods/base.pak'])).toEqual({ kept: [], movedAside: [{ from: 'mods', to: 'mods.user-1' }] })
  })

  it('never picks a name that the user or the release already uses', () => {
    const plan = planCarry(['x', 'x.user-1', 'y'], old, ['x', 'x.user-2/readme', 'y', 'y.user-1'])
    expect(plan).toEqual({ kept: ['x.user-1'], movedAside: [{ from: 'x', to: 'x.user-3' }, { from: 'y', to: 'y.user-2' }] })
  })
})

describe('planCarry: empty folders and names that differ only in case', () => {
  const old = new Set(['bin/game', 'data/a.pak'])

  it('carries an empty folder the user made, and moves it aside when the release takes its name', () => {
    expect(planCarry(['bin/game', 'data/a.pak', 'screenshots/', 'mods/'], old, ['bin/game', 'data/a.pak', 'mods'])).toEqual({
      kept: ['screenshots/'],
      movedAside: [{ from: 'mods/', to: 'mods.user-1/' }],
    })
  })

  it("leaves out an old release folder the user emptied, and a folder the new release makes anyway", () => {
    expect(planCarry(['bin/', 'data/a.pak', 'levels/'], new Set(['bin/game', 'data/a.pak']), ['data/a.pak', 'levels/1.pak'])).toEqual({ kept: [], movedAside: [] })
  })

  it('on a file system that ignores case, a user file whose name differs from a release file only in case is moved aside', () => {
    const found = ['bin/game', 'data/a.pak', 'Saves/slot1.sav', 'Saves/notes.txt']
    expect(planCarry(found, old, ['bin/game', 'data/a.pak', 'saves/slot1.sav'], true)).toEqual({
      kept: ['Saves/notes.txt'],
      movedAside: [{ from: 'Saves/slot1.sav', to: 'Saves/slot1.sav.user-1' }],
    })
    // Where case matters, they are two names.
    expect(planCarry(found, old, ['bin/game', 'data/a.pak', 'saves/slot1.sav'], false)).toEqual({ kept: ['Saves/slot1.sav', 'Saves/notes.txt'], movedAside: [] })
  })
})
