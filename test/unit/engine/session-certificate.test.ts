import { X509Certificate } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { makeSessionCertificate } from '../../../app/engine/sources/peers/session-certificate.ts'

describe('the session certificate', () => {
  it('parses whatever random bytes its serial number gets, leading zeros and high bits included', () => {
    const now = new Date('2026-12-06T00:00:00Z')
    for (const first of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
      for (const second of [0x00, 0x7f, 0x80]) {
        const { certPem } = makeSessionCertificate(now, (n) => Buffer.from([first, second, ...Array<number>(n - 2).fill(0)]))
        const cert = new X509Certificate(certPem)
        expect(cert.subject).toBe('CN=shoal-peer')
        expect(Buffer.from(cert.serialNumber, 'hex')[0]! & 0x80).toBe(0)
      }
    }
  })
})
