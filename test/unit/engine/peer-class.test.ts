import { describe, expect, it } from 'vitest'
import { classifyPeer, hostOfPeer, unmapAddress } from '../../../app/engine/stats/peer-class.ts'

describe('peer class', () => {
  it('counts loopback, private ranges and the local subnet as lan, the rest as wan', () => {
    expect(classifyPeer('127.0.0.1', [])).toBe('lan')
    expect(classifyPeer('::ffff:192.168.1.20', [])).toBe('lan')
    expect(classifyPeer('fd00::7', [])).toBe('lan')
    expect(classifyPeer('203.0.113.9', [])).toBe('wan')
    expect(classifyPeer('203.0.113.9', ['203.0.113.1'])).toBe('lan')
    expect(classifyPeer('2001:db8:1:2::9', ['2001:db8:1:2::1'])).toBe('lan')
    expect(classifyPeer('2001:db8:1:3::9', ['2001:db8:1:2::1'])).toBe('wan')
    expect(unmapAddress('::ffff:10.1.2.3')).toBe('10.1.2.3')
  })

  it('takes the host of a peer address, IPv6 in brackets and mapped IPv4 included', () => {
    expect(hostOfPeer('192.0.2.7:6881')).toBe('192.0.2.7')
    expect(hostOfPeer('[2001:db8::7]:6881')).toBe('2001:db8::7')
    expect(hostOfPeer('[::ffff:10.1.2.3]:80')).toBe('10.1.2.3')
  })
})
