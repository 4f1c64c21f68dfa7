import { describe, expect, it } from 'vitest'
import { CDN_FLOOR, shareUploadCap, splitDownCap } from '../../../app/policy/cap-split.ts'
import { transferRates } from '../../../app/policy/transfer-rates.ts'

const MB = 1_000_000
const caps = (down: number | null, cdnDown = down, peerDown = down) => ({ down, cdnDown, peerDown })

describe('global download cap shared by the CDN and peers', () => {
  it('leaves the class caps alone without a global cap or without peers', () => {
    expect(splitDownCap({ caps: caps(null, 3 * MB, null), peersConnected: 4, peerRate: 9 * MB })).toEqual({ cdnDown: 3 * MB, peerDown: null })
    expect(splitDownCap({ caps: caps(5 * MB), peersConnected: 0, peerRate: 0 })).toEqual({ cdnDown: 5 * MB, peerDown: 5 * MB })
  })

  it('never gives the two classes more than the global cap together', () => {
    for (const peerRate of [0, 0.5 * MB, 2 * MB, 4.5 * MB, 5 * MB, 50 * MB]) {
      const s = splitDownCap({ caps: caps(5 * MB), peersConnected: 2, peerRate })
      expect(s.cdnDown! + s.peerDown!).toBeLessThanOrEqual(5 * MB)
      expect(s.cdnDown).toBeGreaterThanOrEqual(CDN_FLOOR * 5 * MB)
      expect(s.peerDown).toBeGreaterThanOrEqual(CDN_FLOOR * 5 * MB)
    }
  })

  it('grows the peers share while peers fill it, up to all but the CDN floor', () => {
    let share = splitDownCap({ caps: caps(10 * MB), peersConnected: 1, peerRate: 0 }).peerDown!
    const shares = [share]
    // Peers that can go faster than the cap deliver all they are allowed.
    for (let round = 0; round < 8; round++) shares.push((share = splitDownCap({ caps: caps(10 * MB), peersConnected: 1, peerRate: share }).peerDown!))
    expect(shares[0]).toBe(1 * MB)
    expect(shares[1]).toBeGreaterThan(shares[0]!)
    expect(share).toBe(9 * MB)
  })

  it('gives the CDN what slow peers leave unused', () => {
    expect(splitDownCap({ caps: caps(10 * MB), peersConnected: 3, peerRate: 2 * MB })).toEqual({ cdnDown: 6.5 * MB, peerDown: 3.5 * MB })
  })

  it('keeps a tighter class cap', () => {
    expect(splitDownCap({ caps: caps(10 * MB, 2 * MB, 1 * MB), peersConnected: 1, peerRate: 1 * MB })).toEqual({ cdnDown: 2 * MB, peerDown: 1 * MB })
  })
})

describe('upload cap shared by the seeds and the running job', () => {
  it('gives each uploader an equal share that adds up to the cap', () => {
    expect(shareUploadCap(null, 3)).toBe(null)
    expect(shareUploadCap(3 * MB, 0)).toBe(3 * MB)
    expect(shareUploadCap(3 * MB, 1)).toBe(3 * MB)
    expect(3 * shareUploadCap(10 * MB, 3)!).toBeLessThanOrEqual(10 * MB)
  })
})

describe('transfer rates from caps, running jobs, seeds and sharing', () => {
  const caps = { down: 10 * MB, up: null, cdnDown: 10 * MB, peerDown: 10 * MB, peerUp: 4 * MB }
  const sharing = { upload: true, wan: false, reason: null }

  it('splits the global cap while peers are connected and lets background mode tighten the CDN only', () => {
    const r = transferRates({ caps, running: [{ peersConnected: 2, peerRate: 2 * MB, ledbatRate: 1.5 * MB }], seeds: 1, sharing })
    expect(r).toEqual({ cdnDown: 1.5 * MB, peerDown: 3.5 * MB, peerUp: 2 * MB, uploadAllowed: true, uploadWan: false })
  })

  it('leaves an unlimited CDN to background mode alone, and a job that may not upload out of the upload share', () => {
    const open = { down: null, up: null, cdnDown: null, peerDown: null, peerUp: 4 * MB }
    const r = transferRates({ caps: open, running: [{ peersConnected: 0, peerRate: 0, ledbatRate: 3 * MB }], seeds: 2, sharing: { upload: false, wan: false, reason: 'sharing is off' } })
    expect(r).toEqual({ cdnDown: 3 * MB, peerDown: 0, peerUp: 2 * MB, uploadAllowed: false, uploadWan: false })
  })
})
