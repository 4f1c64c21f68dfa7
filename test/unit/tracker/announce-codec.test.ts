import { describe, expect, it } from 'vitest'
import bencode from 'bencode'
import { parseAnnounce } from '../../../app/tracker/announce-request.ts'
import { encodeAnswer } from '../../../app/tracker/announce-response.ts'
import { decodePeer, encodePeer } from '../../../app/tracker/peer-codec.ts'
import type { SwarmPeer } from '../../../app/tracker/matching.ts'

const bytes = (n: number, from: number) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i * 37) & 0xff))
const escape = (b: Buffer) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')
const hash = bytes(20, 200)
const id = bytes(20, 3)
const base = `info_hash=${escape(hash)}&peer_id=${escape(id)}&port=6881&left=0`

describe('announce request', () => {
  it('reads binary ids, the socket address and the capability parameters', () => {
    const r = parseAnnounce(`${base}&event=started&numwant=500&site=berlin-3&up=2000000&spare=500000&reach=0&token=a%20b`, '::ffff:10.1.2.3')
    expect(r).toEqual({
      ok: true,
      request: {
        infoHash: hash.toString('hex'),
        peer: { peerId: id.toString('hex'), ip: '10.1.2.3', port: 6881, seeder: true, reachable: false, spare: 500_000, site: 'berlin-3' },
        event: 'started',
        numwant: 200,
        compact: true,
        token: 'a b',
      },
    })
  })

  it('takes what stock clients send, and capacity for spare when spare is missing', () => {
    const r = parseAnnounce(`info_hash=${escape(hash)}&peer_id=-qB4650-${'x'.repeat(12)}&port=1&left=5&compact=0&up=9`, 'fd00::1')
    expect(r.ok && r.request.peer).toEqual({ peerId: Buffer.from(`-qB4650-${'x'.repeat(12)}`).toString('hex'), ip: 'fd00::1', port: 1, seeder: false, reachable: undefined, spare: 9, site: undefined })
    expect(r.ok && [r.request.event, r.request.numwant, r.request.compact]).toEqual(['update', 50, false])
  })

  it('refuses malformed announces with a reason', () => {
    expect(parseAnnounce(`info_hash=abc&peer_id=${escape(id)}&port=1`, '10.0.0.1')).toEqual({ ok: false, reason: 'invalid info_hash (20 bytes expected)' })
    expect(parseAnnounce(`${base.replace('port=6881', 'port=0')}`, '10.0.0.1')).toEqual({ ok: false, reason: 'invalid port' })
    expect(parseAnnounce(`${base}&site=${encodeURIComponent('a b"c')}`, '10.0.0.1')).toMatchObject({ ok: false, reason: expect.stringMatching(/invalid site/) })
    expect(parseAnnounce(`${base}&site=${'s'.repeat(65)}`, '10.0.0.1')).toMatchObject({ ok: false })
    expect(parseAnnounce(`${base}&event=explode`, '10.0.0.1')).toEqual({ ok: false, reason: 'unknown event "explode"' })
    expect(parseAnnounce(`${base.replace('peer_id=', 'peer_id=%zz')}`, '10.0.0.1')).toEqual({ ok: false, reason: 'invalid peer_id (20 bytes expected)' })
  })

  it('decodes as forms do: the first value of a key, + as a space, a lone % as itself', () => {
    const id20 = `ab%2+${'c'.repeat(15)}`
    const r = parseAnnounce(`${base.replace(/peer_id=[^&]*/, `peer_id=${id20}`)}&port=1&site=a%2Fb&token=%E2%9C%93`, '10.0.0.1')
    expect(r.ok && [r.request.peer.peerId, r.request.peer.port, r.request.peer.site, r.request.token]).toEqual([Buffer.from(`ab%2 ${'c'.repeat(15)}`, 'latin1').toString('hex'), 6881, 'a/b', '✓'])
  })
})

describe('announce answer', () => {
  it('packs IPv4 peers 6 bytes each and IPv6 peers 18 bytes each, or lists them with ids', () => {
    const peers: SwarmPeer[] = [
      { peerId: 'aa'.repeat(20), ip: '10.0.0.7', port: 0x1ae1, seeder: true },
      { peerId: 'bb'.repeat(20), ip: 'fd00::2', port: 80, seeder: false },
    ]
    const compact = bencode.decode(encodeAnswer({ intervalSeconds: 600, complete: 1, incomplete: 1, peers, compact: true })) as Record<string, Uint8Array | number>
    expect(Buffer.from(compact['peers'] as Uint8Array)).toEqual(Buffer.from([10, 0, 0, 7, 0x1a, 0xe1]))
    expect(Buffer.from(compact['peers6'] as Uint8Array).toString('hex')).toBe('fd000000000000000000000000000002' + '0050')
    expect([compact['interval'], compact['min interval'], compact['complete']]).toEqual([600, 60, 1])
    const listed = bencode.decode(encodeAnswer({ intervalSeconds: 60, complete: 1, incomplete: 1, peers, compact: false })) as { peers: { 'peer id': Uint8Array }[] }
    expect(listed.peers.map((p) => Buffer.from(p['peer id']).toString('hex'))).toEqual(['aa'.repeat(20), 'bb'.repeat(20)])
  })
})

describe('announce answer, compact', () => {
  it('is byte for byte what a bencode library makes of the same dictionary', () => {
    const peers: SwarmPeer[] = [
      { peerId: 'aa'.repeat(20), ip: '192.168.10.254', port: 65535, seeder: true },
      { peerId: 'bb'.repeat(20), ip: '2001:db8::7', port: 1, seeder: false },
      { peerId: 'cc'.repeat(20), ip: '1.2.3.4', port: 6881, seeder: false },
    ]
    for (const list of [peers, peers.slice(2), []]) {
      const v4 = list.filter((p) => !p.ip.includes(':'))
      const v6 = list.filter((p) => p.ip.includes(':'))
      const expected: Record<string, unknown> = {
        complete: 12,
        incomplete: 0,
        interval: 30,
        'min interval': 30,
        peers: Buffer.concat(v4.map((p) => Buffer.from([...p.ip.split('.').map(Number), p.port >> 8, p.port & 0xff]))),
      }
      if (v6.length > 0) expected['peers6'] = Buffer.concat(v6.map((p) => Buffer.concat([Buffer.from('20010db8000000000000000000000007', 'hex'), Buffer.from([p.port >> 8, p.port & 0xff])])))
      expect(encodeAnswer({ intervalSeconds: 30, complete: 12, incomplete: 0, peers: list, compact: true })).toEqual(Buffer.from(bencode.encode(expected)))
    }
  })
})

describe('peer codec (Redis values)', () => {
  it('round-trips every field in a few bytes', () => {
    const cases: SwarmPeer[] = [
      { peerId: 'ab'.repeat(20), ip: '203.0.113.9', port: 51413, seeder: false, reachable: undefined, spare: undefined, site: undefined },
      { peerId: 'cd'.repeat(20), ip: 'fd00:1:2:3:0:0:0:9', port: 1, seeder: true, reachable: false, spare: 2048, site: 'berlin-3' },
      { peerId: 'ef'.repeat(20), ip: '10.0.0.1', port: 65535, seeder: true, reachable: true, spare: 0, site: undefined },
    ]
    for (const p of cases) {
      const packed = encodePeer(p)
      expect(decodePeer(Buffer.from(p.peerId, 'hex'), p.seeder, packed)).toEqual(p)
    }
    expect(encodePeer(cases[0]!).length).toBe(7)
    // A little spare upload stays "some", never "at its cap".
    expect(decodePeer(Buffer.alloc(20), false, encodePeer({ ...cases[0]!, spare: 10 })).spare).toBe(1024)
  })
})
