import { describe, expect, it } from 'vitest'
import { announceParams, provesReach } from '../../../app/engine/sources/peers/swarm-client.ts'

describe('announce parameters', () => {
  it('carry the token, the site, and under a cap the capacity and what is left of it', () => {
    expect(announceParams({ trackerToken: undefined, limitUp: 0, site: undefined }, 5e6)).toEqual({})
    expect(announceParams({ trackerToken: 't', limitUp: 0, site: 'berlin' }, 5e6)).toEqual({ token: 't', site: 'berlin' })
    expect(announceParams({ trackerToken: undefined, limitUp: 10e6, site: undefined }, 4e6)).toEqual({ up: 10e6, spare: 6e6 })
    // At the cap: spare 0, which Shoal's tracker reads as "skip me for now".
    expect(announceParams({ trackerToken: undefined, limitUp: 10e6, site: undefined }, 11e6)).toEqual({ up: 10e6, spare: 0 })
  })

  it('say reach=1 once proven, and nothing about reachability before', () => {
    expect(announceParams({ trackerToken: undefined, limitUp: 0, site: undefined }, 0, false)).toEqual({})
    expect(announceParams({ trackerToken: 't', limitUp: 0, site: undefined }, 0, true)).toEqual({ token: 't', reach: 1 })
  })

  it('take an incoming connection as proof unless it came over loopback to a listener on every interface', () => {
    expect(provesReach(undefined, '192.0.2.7')).toBe(true)
    expect(provesReach(undefined, '2001:db8::7')).toBe(true)
    expect(provesReach(undefined, '127.0.0.1')).toBe(false)
    expect(provesReach(undefined, '::ffff:127.0.0.2')).toBe(false)
    expect(provesReach('0.0.0.0', '::1')).toBe(false)
    expect(provesReach('127.0.0.2', '127.0.0.1')).toBe(true)
    expect(provesReach('127.0.0.2', undefined)).toBe(false)
  })
})
