import { describe, expect, it } from 'vitest'
import { createPeerBans } from '../../../app/engine/sources/peers/peer-bans.ts'
import { createSourceLedger } from '../../../app/engine/stats/source-ledger.ts'
import { offloadRatio } from '../../../app/engine/stats/source-bytes.ts'

describe('peer bans', () => {
  it('bans a peer after 3 attributed failures, IPv4-mapped or not', () => {
    const bans = createPeerBans()
    expect(bans.recordFailure('10.0.0.9')).toBe(false)
    expect(bans.recordFailure('::ffff:10.0.0.9')).toBe(false)
    expect(bans.isBanned('10.0.0.9')).toBe(false)
    expect(bans.recordFailure('10.0.0.9')).toBe(true)
    expect(bans.isBanned('::ffff:10.0.0.9')).toBe(true)
    expect(bans.isBanned('10.0.0.8')).toBe(false)
    expect(bans.banned()).toEqual(['10.0.0.9'])
    expect(bans.recordFailure('10.0.0.9')).toBe(false)
  })
})

describe('source ledger', () => {
  it('attributes useful bytes once per class, keeps waste apart, and checks the invariant', () => {
    const l = createSourceLedger()
    l.useful('lan', 600)
    l.useful('wan', 200)
    l.useful('cdn', 200)
    l.useful('local', 1000)
    l.wasted(50)
    expect(l.snapshot()).toEqual({ cdn: 200, lan: 600, wan: 200, local: 1000, wasted: 50 })
    expect(l.balances(2000)).toBe(true)
    expect(l.balances(2050)).toBe(false)
    expect(offloadRatio(l.snapshot())).toBeCloseTo(0.8)
    expect(() => l.useful('cdn', -1)).toThrow(RangeError)
  })
})
