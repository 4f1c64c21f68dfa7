import { EventEmitter } from 'node:events'
import type { Torrent, Wire } from 'webtorrent'
import { describe, expect, it } from 'vitest'
import { guardWires } from '../../../app/engine/sources/peers/wire-guard.ts'

// The guard only listens to 'wire' and reads wires' addresses and choke state: a torrent and
// wires that record what webtorrent would tell them is enough to check the upload policy.
class FakeWire extends EventEmitter {
  amChoking = true
  destroyed = false
  readonly remoteAddress: string
  constructor(address: string) {
    super()
    this.remoteAddress = address
  }
  choke() {
    this.amChoking = true
  }
  unchoke() {
    this.amChoking = false
  }
  destroy() {
    this.destroyed = true
    this.emit('close')
  }
}

function fakeTorrent() {
  const torrent = Object.assign(new EventEmitter(), { wires: [] as FakeWire[] })
  const connect = (address: string) => {
    const wire = new FakeWire(address)
    torrent.wires.push(wire)
    wire.once('close', () => torrent.wires.splice(torrent.wires.indexOf(wire), 1))
    torrent.emit('wire', wire)
    return wire
  }
  return { torrent: torrent as unknown as Torrent, connect }
}

describe('wire guard upload policy', () => {
  it('serves LAN peers and keeps WAN peers choked while sharing is LAN only, and follows a change', () => {
    let wanAllowed = false
    const { torrent, connect } = fakeTorrent()
    const guard = guardWires(torrent, { maxPeers: 10, isBanned: () => false, localAddresses: ['192.168.1.5'], mayUpload: (cls) => cls === 'lan' || wanAllowed })
    const lan = connect('192.168.1.20')
    const wan = connect('::ffff:203.0.113.7')
    // webtorrent unchokes every peer that says it is interested.
    for (const w of [lan, wan]) (w as unknown as Wire).unchoke()
    expect(lan.amChoking).toBe(false)
    expect(wan.amChoking).toBe(true)

    wanAllowed = true
    ;(wan as unknown as Wire).unchoke()
    expect(wan.amChoking).toBe(false)

    wanAllowed = false
    guard.enforceUpload()
    expect(wan.amChoking).toBe(true)
    expect(lan.amChoking).toBe(false)

    expect(guard.connected()).toEqual({ lan: 1, wan: 1 })
    wan.destroy()
    expect(guard.connected()).toEqual({ lan: 1, wan: 0 })
  })

  it('counts incoming wires against the cap and drops banned addresses', () => {
    const { torrent, connect } = fakeTorrent()
    const guard = guardWires(torrent, { maxPeers: 1, isBanned: (a) => a === '10.0.0.9', localAddresses: [] })
    const wires = ['10.0.0.1', '10.0.0.2', '10.0.0.9'].map(connect)
    expect(wires.map((w) => w.destroyed)).toEqual([false, true, true])
    expect(guard.refused()).toBe(1)
    expect(guard.connected()).toEqual({ lan: 1, wan: 0 })
  })
})
