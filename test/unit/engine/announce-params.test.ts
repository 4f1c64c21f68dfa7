import { describe, expect, it } from 'vitest'
import { announceParams } from '../../../app/engine/sources/peers/swarm-client.ts'

describe('announce parameters', () => {
  it('carry the token, the site, and under a cap the capacity and what is left of it', () => {
    expect(announceParams({ trackerToken: undefined, limitUp: 0, site: undefined }, 5e6)).toEqual({})
    expect(announceParams({ trackerToken: 't', limitUp: 0, site: 'berlin' }, 5e6)).toEqual({ token: 't', site: 'berlin' })
    expect(announceParams({ trackerToken: undefined, limitUp: 10e6, site: undefined }, 4e6)).toEqual({ up: 10e6, spare: 6e6 })
    // At the cap: spare 0, which Shoal's tracker reads as "skip me for now".
    expect(announceParams({ trackerToken: undefined, limitUp: 10e6, site: undefined }, 11e6)).toEqual({ up: 10e6, spare: 0 })
  })
})
