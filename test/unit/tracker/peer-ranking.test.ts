import { describe, expect, it } from 'vitest'
import { isPrivateAddress, sameSubnet } from '../../../app/net/address-scope.ts'
import { peerScope, rankPeers } from '../../../app/tracker/peer-ranking.ts'

describe('peer ranking', () => {
  it('knows subnets and private ranges', () => {
    expect(sameSubnet('192.168.1.10', '192.168.1.200')).toBe(true)
    expect(sameSubnet('192.168.1.10', '192.168.2.10')).toBe(false)
    expect(sameSubnet('fd00:1:2:3::1', 'fd00:1:2:3:ffff::9')).toBe(true)
    expect(sameSubnet('fd00:1:2:3::1', 'fd00:1:2:4::1')).toBe(false)
    expect(sameSubnet('10.0.0.1', 'fd00::1')).toBe(false)
    expect(['10.1.2.3', '172.20.0.1', '192.168.0.1', '127.0.0.1', 'fd12::1', 'fe80::1'].every(isPrivateAddress)).toBe(true)
    expect(['8.8.8.8', '172.32.0.1', '2001:db8::1'].some(isPrivateAddress)).toBe(false)
  })

  it('scores same subnet, then private, then the rest', () => {
    expect(peerScope('10.0.0.5', '10.0.0.9')).toBe(0)
    expect(peerScope('10.0.0.5', '192.168.3.4')).toBe(1)
    expect(peerScope('10.0.0.5', '8.8.8.8')).toBe(2)
  })

  it('hands out same-subnet peers first even when there are more peers than asked for', () => {
    const peers = [...Array.from({ length: 50 }, (_, i) => ({ ip: `203.0.113.${i}` })), { ip: '10.0.0.7' }, { ip: '10.0.0.8' }, { ip: '10.9.9.9' }]
    for (let seed = 0; seed < 20; seed++) {
      let x = seed + 1
      const random = () => ((x = (x * 16807) % 2147483647) / 2147483647)
      const picked = rankPeers('10.0.0.5', peers, 5, random).map((p) => p.ip)
      expect(picked.slice(0, 2).sort()).toEqual(['10.0.0.7', '10.0.0.8'])
      expect(picked[2]).toBe('10.9.9.9')
      expect(picked).toHaveLength(5)
    }
  })
})
