import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { admitPeer, issuePass, passStillValid, proveHolder, readPass, readRevocations, renewAtMs, signRevocations, spkiBase64, type AdmissionCheck } from '../../../app/release/admission.ts'

const ed25519 = () => generateKeyPairSync('ed25519').privateKey
const authority = ed25519()
const swarm = 'ab'.repeat(20)
const now = Date.UTC(2026, 11, 5, 12)
const exporter = randomBytes(32)
const check = (over: Partial<AdmissionCheck> = {}): AdmissionCheck => ({ swarm, authority, revoked: undefined, role: 'dialer', keyingMaterial: exporter, nowMs: now, ...over })

function holderWithPass(o: { swarm?: string; by?: typeof authority; seconds?: number; at?: number } = {}) {
  const key = ed25519()
  const pass = issuePass(o.by ?? authority, { swarm: o.swarm ?? swarm, holder: key, seconds: o.seconds ?? 3600, nowMs: o.at ?? now })
  return { key, pass, proof: proveHolder(key, 'dialer', exporter) }
}

describe('peer admission', () => {
  it('admits a holder of a pass from the authority, for this swarm, proven on this session', () => {
    const h = holderWithPass()
    const verdict = admitPeer(h.pass, h.proof, check())
    expect(verdict.ok).toBe(true)
    expect(verdict.ok && verdict.pass.key).toBe(spkiBase64(h.key))
  })

  it('refuses each forgery with its reason', () => {
    const h = holderWithPass()
    expect(admitPeer(undefined, undefined, check())).toEqual({ ok: false, reason: 'no-certificate' })
    expect(admitPeer('garbage', h.proof, check())).toEqual({ ok: false, reason: 'malformed' })
    const expired = holderWithPass({ at: now - 3 * 3600_000, seconds: 3600 })
    expect(admitPeer(expired.pass, expired.proof, check())).toEqual({ ok: false, reason: 'expired' })
    const other = holderWithPass({ swarm: 'cd'.repeat(20) })
    expect(admitPeer(other.pass, other.proof, check())).toEqual({ ok: false, reason: 'wrong-swarm' })
    const foreign = holderWithPass({ by: ed25519() })
    expect(admitPeer(foreign.pass, foreign.proof, check())).toEqual({ ok: false, reason: 'wrong-authority' })
    // A pass edited to claim the authority as issuer, signed by someone else.
    const [body] = foreign.pass.split('.')
    const claimed = JSON.parse(Buffer.from(body!, 'base64url').toString()) as Record<string, unknown>
    claimed['issuer'] = spkiBase64(authority)
    const forged = `${Buffer.from(JSON.stringify(claimed)).toString('base64url')}.${foreign.pass.split('.')[1]}`
    expect(admitPeer(forged, foreign.proof, check())).toEqual({ ok: false, reason: 'bad-signature' })
    // Someone else's pass, shown with the replayer's own key: the proof fails.
    const replayer = ed25519()
    expect(admitPeer(h.pass, proveHolder(replayer, 'dialer', exporter), check())).toEqual({ ok: false, reason: 'key-mismatch' })
    // The holder's proof from another session, or for the other role, proves nothing here.
    expect(admitPeer(h.pass, h.proof, check({ keyingMaterial: randomBytes(32) }))).toEqual({ ok: false, reason: 'key-mismatch' })
    expect(admitPeer(h.pass, h.proof, check({ role: 'listener' }))).toEqual({ ok: false, reason: 'key-mismatch' })
  })

  it('refuses revoked serials and keys, from a list only the authority can sign', () => {
    const h = holderWithPass()
    const serial = readPass(h.pass)!.serial
    const bySerial = readRevocations(signRevocations(authority, { issuedAt: 1, serials: [serial], keys: [] }), authority)
    expect(admitPeer(h.pass, h.proof, check({ revoked: bySerial }))).toEqual({ ok: false, reason: 'revoked' })
    const byKey = readRevocations(signRevocations(authority, { issuedAt: 1, serials: [], keys: [spkiBase64(h.key)] }), authority)
    expect(admitPeer(h.pass, h.proof, check({ revoked: byKey }))).toEqual({ ok: false, reason: 'revoked' })
    expect(passStillValid(readPass(h.pass)!, byKey, now)).toBe(false)
    expect(passStillValid(readPass(h.pass)!, undefined, now)).toBe(true)
    // A list signed by another key is ignored.
    expect(readRevocations(signRevocations(ed25519(), { issuedAt: 1, serials: [serial], keys: [] }), authority)).toBeUndefined()
  })

  it('bounds pass lifetimes and renews three quarters in', () => {
    const long = readPass(holderWithPass({ seconds: 1e9 }).pass)!
    expect(long.notAfter - long.notBefore).toBe(24 * 3600)
    const p = readPass(holderWithPass({ seconds: 4000 }).pass)!
    expect(renewAtMs(p)).toBe((p.notBefore + 3000) * 1000)
    expect(passStillValid(p, undefined, (p.notAfter + 600) * 1000)).toBe(false)
  })
})
