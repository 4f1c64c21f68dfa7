import { describe, expect, it } from 'vitest'
import { describeMirror, newMirror, penalize, pickMirror, usable } from '../../../app/engine/sources/cdn/mirror-health.ts'

describe('mirror health', () => {
  it('rotates among the healthiest, avoids the mirror a retry names, demotes at one failure and drops at three', () => {
    const [a, b, c] = ['http://127.0.0.1:1/x', 'http://127.0.0.2:1/x/', 'http://127.0.0.3:1/x'].map((u) => newMirror(new URL(u)))
    const all = [a!, b!, c!]
    expect(a!.base.href).toBe('http://127.0.0.1:1/x/')
    expect([0, 1, 2, 3].map((t) => pickMirror(all, undefined, t))).toEqual([a, b, c, a])
    expect([0, 1].map((t) => pickMirror(all, b, t))).toEqual([a, c])
    penalize(a!, 'bad chunk')
    c!.ignoresRanges = true
    expect([0, 1].map((t) => pickMirror(all, undefined, t))).toEqual([b, b])
    // The only healthy one is avoided: the demoted ones serve the retry.
    expect([0, 1].map((t) => pickMirror(all, b, t))).toEqual([a, c])
    penalize(a!, 'bad chunk')
    penalize(a!, 'bad chunk')
    expect(usable(a!)).toBe(false)
    expect(describeMirror(a!)).toBe('http://127.0.0.1:1/x/ (dropped: bad chunk)')
    expect(describeMirror(b!)).toBe('http://127.0.0.2:1/x/ (ok)')
    for (const m of [b!, c!]) for (let i = 0; i < 3; i++) penalize(m, 'lie')
    expect(pickMirror(all, undefined, 0)).toBeUndefined()
  })
})
