import { describe, expect, it } from 'vitest'
import bencode from 'bencode'
import { announceParams, announceUrl, decodeTrackerAnswer, provesReach, tokenedTrackers } from '../../../app/engine/sources/peers/announce-params.ts'

describe('announce parameters', () => {
  it('carry the site, and under a cap the capacity and what is left of it', () => {
    expect(announceParams({ limitUp: 0, site: undefined }, 5e6)).toEqual({})
    expect(announceParams({ limitUp: 0, site: 'berlin' }, 5e6)).toEqual({ site: 'berlin' })
    expect(announceParams({ limitUp: 10e6, site: undefined }, 4e6)).toEqual({ up: 10e6, spare: 6e6 })
    // At the cap: spare 0, which Shoal's tracker reads as "skip me for now".
    expect(announceParams({ limitUp: 10e6, site: undefined }, 11e6)).toEqual({ up: 10e6, spare: 0 })
  })

  it('say reach=1 once proven, and nothing about reachability before', () => {
    expect(announceParams({ limitUp: 0, site: undefined }, 0, false)).toEqual({})
    expect(announceParams({ limitUp: 0, site: undefined }, 0, true)).toEqual({ reach: 1 })
  })

  it('leave the token in every http(s) tracker URL, so that even an announce without parameters carries it', () => {
    expect(tokenedTrackers(['http://t.example/announce', 'https://u.example/a?k=1', 'udp://v.example:80'], 'a b&c')).toEqual(['http://t.example/announce?token=a%20b%26c', 'https://u.example/a?k=1&token=a%20b%26c', 'udp://v.example:80'])
    expect(tokenedTrackers(['http://t.example/announce'], undefined)).toEqual(['http://t.example/announce'])
    const url = new URL(announceUrl(tokenedTrackers(['http://t.example/announce'], 'a b&c')[0]!, { infoHash: '00'.repeat(20), peerId: '00'.repeat(20), port: 1, left: 0 }, {}))
    expect(url.searchParams.get('token')).toBe('a b&c')
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

describe('the scout’s announce', () => {
  const fields = { infoHash: '00ff'.repeat(10), peerId: '2d534c'.padEnd(40, '0'), port: 6881, left: 1024 }

  it('percent-encodes every byte of the infohash and peer id, and adds Shoal’s parameters', () => {
    const url = new URL(announceUrl('http://t.example/announce', { ...fields, event: 'started' }, { site: 'berlin', up: 5 }))
    expect(url.search).toContain(`info_hash=${'%00%ff'.repeat(10)}`)
    expect(url.search).toContain(`peer_id=%2d%53%4c${'%00'.repeat(17)}`)
    expect(Object.fromEntries(url.searchParams)).toMatchObject({ port: '6881', left: '1024', compact: '1', event: 'started', site: 'berlin', up: '5' })
    expect(announceUrl('http://t.example/announce?key=1', fields, {})).toMatch(/^http:\/\/t\.example\/announce\?key=1&info_hash=/)
    expect(announceUrl('http://t.example/a', fields, {})).not.toContain('event=')
  })

  it('reads compact, listed and IPv6 peers, the interval, the count of leechers, and a failure reason', () => {
    const compact = Buffer.from([192, 0, 2, 7, 0x1a, 0xe1, 10, 0, 0, 1, 0, 80])
    const six = Buffer.concat([Buffer.from('20010db8000000000000000000000007', 'hex'), Buffer.from([0x1a, 0xe1])])
    expect(decodeTrackerAnswer(bencode.encode({ interval: 600, peers: compact, peers6: six }))).toEqual({ interval: 600, peers: ['192.0.2.7:6881', '10.0.0.1:80', '[2001:db8:0:0:0:0:0:7]:6881'] })
    expect(decodeTrackerAnswer(bencode.encode({ interval: 60, peers: [{ ip: '192.0.2.9', port: 1 }, { ip: 'fd00::2', port: 2 }, { ip: 'x' }] }))).toEqual({ interval: 60, peers: ['192.0.2.9:1', '[fd00::2]:2'] })
    expect(decodeTrackerAnswer(bencode.encode({ interval: 60, incomplete: 3, complete: 1, peers: compact }))).toEqual({ interval: 60, incomplete: 3, peers: ['192.0.2.7:6881', '10.0.0.1:80'] })
    expect(decodeTrackerAnswer(bencode.encode({ interval: 60, incomplete: -1, peers: [] }))).toEqual({ interval: 60, peers: [] })
    expect(decodeTrackerAnswer(bencode.encode({ 'failure reason': 'bad token' }))).toEqual({ failure: 'bad token' })
    expect(decodeTrackerAnswer(Buffer.from('<html>'))).toHaveProperty('failure')
    expect(decodeTrackerAnswer(bencode.encode(['a']))).toHaveProperty('failure')
  })
})
