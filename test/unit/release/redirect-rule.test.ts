import { describe, expect, it } from 'vitest'
import { followRedirect, isRedirect, MAX_REDIRECTS } from '../../../app/release/redirect-rule.ts'

const from = new URL('https://cdn.example/game/1.0.0/store.chunks')

describe('which redirects a fetch follows', () => {
  it('follows 301, 302, 303, 307 and 308 to http(s), relative Locations against the current URL', () => {
    expect([300, 301, 302, 303, 304, 305, 307, 308].filter(isRedirect)).toEqual([301, 302, 303, 307, 308])
    expect(followRedirect(from, '/edge/store.chunks?sig=1', 0)).toEqual({ ok: true, url: new URL('https://cdn.example/edge/store.chunks?sig=1') })
    expect(followRedirect(from, 'https://edge-3.example/x', MAX_REDIRECTS - 1)).toEqual({ ok: true, url: new URL('https://edge-3.example/x') })
    expect(followRedirect(new URL('http://cdn.example/a'), 'https://edge.example/a', 0)).toMatchObject({ ok: true })
    expect(followRedirect(new URL('http://cdn.example/a'), 'http://edge.example/a', 0)).toMatchObject({ ok: true })
  })

  it('never from https to http, nor to another scheme, nor without a Location, nor past the bound', () => {
    expect(followRedirect(from, 'http://edge.example/x', 0)).toEqual({ ok: false, problem: 'a redirect from https to http (http://edge.example/x)' })
    expect(followRedirect(from, 'file:///etc/passwd', 0)).toMatchObject({ ok: false, problem: expect.stringMatching(/file:/) })
    expect(followRedirect(from, undefined, 0)).toMatchObject({ ok: false, problem: 'a redirect without a Location' })
    expect(followRedirect(from, 'http://[bad', 0)).toMatchObject({ ok: false, problem: expect.stringMatching(/invalid Location/) })
    expect(followRedirect(from, '/fine', MAX_REDIRECTS)).toEqual({ ok: false, problem: `more than ${MAX_REDIRECTS} redirects` })
  })
})
