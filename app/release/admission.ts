// Swarm admission: who may exchange a release's pieces. The release names an admission key
// (the publisher's own unless it delegates to an operator key), and the manifest's signature
// covers that choice. The holder of the admission key (the control service) issues each client
// a short-lived *peer pass*: the client's own ed25519 key, the swarm's infohash and a validity
// window, signed by the admission key. Peers show their pass inside TLS 1.3 and prove they hold
// its key by signing the session's keying material (RFC 5705 exporter), so a pass copied off
// another machine, or relayed by a man in the middle, is worth nothing. Pure: keys, bytes and a
// clock in, decisions out.
import { createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto'
import * as v from 'valibot'
import { int } from '../../shared/schema-rules.ts'

/** Why a peer was refused admission; counted per reason in status, the agent API and metrics. */
export const refusalReasons = ['no-certificate', 'malformed', 'expired', 'wrong-swarm', 'wrong-authority', 'bad-signature', 'revoked', 'key-mismatch', 'unknown-swarm'] as const
export type RefusalReason = (typeof refusalReasons)[number]

export type Admission = { readonly ok: true; readonly pass: PeerPass } | { readonly ok: false; readonly reason: RefusalReason }

/** What a pass says. Times are Unix seconds. */
export interface PeerPass {
  readonly v: 1
  /** Infohash (hex) of the one swarm the pass admits to. */
  readonly swarm: string
  /** The holder's ed25519 public key, SPKI DER in base64. */
  readonly key: string
  /** The admission key that signed it, SPKI DER in base64. */
  readonly issuer: string
  readonly serial: string
  readonly notBefore: number
  readonly notAfter: number
}

const passSchema = v.strictObject({
  v: v.literal(1),
  swarm: v.pipe(v.string(), v.regex(/^[0-9a-f]{40}$/)),
  key: v.pipe(v.string(), v.maxLength(128)),
  issuer: v.pipe(v.string(), v.maxLength(128)),
  serial: v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/)),
  notBefore: int(0),
  notAfter: int(0),
})

/** Longest pass a control service issues: passes are short-lived, revocation is the rest. */
export const MAX_PASS_SECONDS = 24 * 3600
/** Clock difference between peers tolerated at both ends of a pass's window. */
const CLOCK_SKEW_SECONDS = 300
/** An encoded pass or revocation list is at most this long; longer input is refused unread. */
export const MAX_ENCODED_BYTES = 64 * 1024

const PASS_DOMAIN = 'shoal-peer-pass-v1\0'
const PROOF_DOMAIN = 'shoal-peer-proof-v1\0'
const REVOKED_DOMAIN = 'shoal-revoked-v1\0'

export function spkiBase64(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key
  return pub.export({ type: 'spki', format: 'der' }).toString('base64')
}

function publicKeyFrom(spki: string): KeyObject | undefined {
  try {
    const key = createPublicKey({ key: Buffer.from(spki, 'base64'), format: 'der', type: 'spki' })
    return key.asymmetricKeyType === 'ed25519' ? key : undefined
  } catch {
    return undefined
  }
}

function seal(domain: string, payload: string, key: KeyObject): string {
  const body = Buffer.from(payload, 'utf8')
  return `${body.toString('base64url')}.${sign(null, Buffer.concat([Buffer.from(domain), body]), key).toString('base64url')}`
}

/** The payload of a sealed string if its signature verifies with `key`. */
function unseal(domain: string, sealed: string, key: KeyObject): { json: unknown; signed: boolean } | undefined {
  if (sealed.length > MAX_ENCODED_BYTES) return undefined
  const [body, sig, ...rest] = sealed.split('.')
  if (body === undefined || sig === undefined || rest.length > 0) return undefined
  const bytes = Buffer.from(body, 'base64url')
  let json: unknown
  try {
    json = JSON.parse(bytes.toString('utf8'))
  } catch {
    return undefined
  }
  return { json, signed: verify(null, Buffer.concat([Buffer.from(domain), bytes]), key, Buffer.from(sig, 'base64url')) }
}

export interface PassRequest {
  readonly swarm: string
  /** The holder's public key. */
  readonly holder: KeyObject
  readonly seconds: number
  readonly nowMs: number
}

export function issuePass(admissionKey: KeyObject, r: PassRequest): string {
  const notBefore = Math.floor(r.nowMs / 1000)
  const pass: PeerPass = {
    v: 1,
    swarm: r.swarm,
    key: spkiBase64(r.holder),
    issuer: spkiBase64(admissionKey),
    serial: randomBytes(16).toString('hex'),
    notBefore,
    notAfter: notBefore + Math.min(MAX_PASS_SECONDS, Math.max(60, Math.round(r.seconds))),
  }
  return seal(PASS_DOMAIN, JSON.stringify(pass), admissionKey)
}

/** Reads a pass without checking it: what a holder needs to know when to renew its own. */
export function readPass(encoded: string): PeerPass | undefined {
  const body = encoded.split('.')[0] ?? ''
  try {
    const parsed = v.safeParse(passSchema, JSON.parse(Buffer.from(body, 'base64url').toString('utf8')))
    return parsed.success ? parsed.output : undefined
  } catch {
    return undefined
  }
}

/** The revocations a control service publishes, signed by the admission key. */
export interface RevocationList {
  readonly issuedAt: number
  /** Revoked pass serials. */
  readonly serials: readonly string[]
  /** Revoked holder keys (SPKI base64): every pass of a lost machine at once. */
  readonly keys: readonly string[]
}

const revocationSchema = v.strictObject({
  issuedAt: int(0),
  serials: v.pipe(v.array(v.pipe(v.string(), v.maxLength(64))), v.maxLength(100_000)),
  keys: v.pipe(v.array(v.pipe(v.string(), v.maxLength(128))), v.maxLength(100_000)),
})

export function signRevocations(admissionKey: KeyObject, list: RevocationList): string {
  return seal(REVOKED_DOMAIN, JSON.stringify(list), admissionKey)
}

/** The list if it is well formed and signed by `admissionKey`; a forged list revokes nothing. */
export function readRevocations(encoded: string, admissionKey: KeyObject): RevocationList | undefined {
  const opened = unseal(REVOKED_DOMAIN, encoded, admissionKey)
  if (!opened?.signed) return undefined
  const parsed = v.safeParse(revocationSchema, opened.json)
  return parsed.success ? parsed.output : undefined
}

function proofMessage(role: 'dialer' | 'listener', keyingMaterial: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${PROOF_DOMAIN}${role}\0`), keyingMaterial])
}

/** The holder's signature over this TLS session's exporter: the pass is used by its own key, here. */
export function proveHolder(holderKey: KeyObject, role: 'dialer' | 'listener', keyingMaterial: Buffer): string {
  return sign(null, proofMessage(role, keyingMaterial), holderKey).toString('base64')
}

export interface AdmissionCheck {
  /** The swarm the session is for (the dialer's TLS server name). */
  readonly swarm: string
  /** The release's admission key. */
  readonly authority: KeyObject
  readonly revoked: RevocationList | undefined
  /** Which side the checked peer is. */
  readonly role: 'dialer' | 'listener'
  readonly keyingMaterial: Buffer
  readonly nowMs: number
}

/** Whether the peer that sent `pass` and `proof` may join this swarm, and if not, why. */
export function admitPeer(pass: string | undefined, proof: string | undefined, c: AdmissionCheck): Admission {
  if (!pass) return { ok: false, reason: 'no-certificate' }
  const claimed = readPass(pass)
  if (!claimed) return { ok: false, reason: 'malformed' }
  if (claimed.issuer !== spkiBase64(c.authority)) return { ok: false, reason: 'wrong-authority' }
  if (!unseal(PASS_DOMAIN, pass, c.authority)?.signed) return { ok: false, reason: 'bad-signature' }
  if (claimed.swarm !== c.swarm) return { ok: false, reason: 'wrong-swarm' }
  const now = c.nowMs / 1000
  if (now < claimed.notBefore - CLOCK_SKEW_SECONDS || now > claimed.notAfter + CLOCK_SKEW_SECONDS) return { ok: false, reason: 'expired' }
  if (c.revoked && (c.revoked.serials.includes(claimed.serial) || c.revoked.keys.includes(claimed.key))) return { ok: false, reason: 'revoked' }
  const holder = publicKeyFrom(claimed.key)
  if (!holder || !proof || !verify(null, proofMessage(c.role, c.keyingMaterial), holder, Buffer.from(proof, 'base64'))) return { ok: false, reason: 'key-mismatch' }
  return { ok: true, pass: claimed }
}

/** Whether a pass admitted earlier still holds: it expires, or a newer list revokes it. */
export function passStillValid(pass: PeerPass, revoked: RevocationList | undefined, nowMs: number): boolean {
  if (nowMs / 1000 > pass.notAfter + CLOCK_SKEW_SECONDS) return false
  return !(revoked && (revoked.serials.includes(pass.serial) || revoked.keys.includes(pass.key)))
}

/** When a holder should fetch its next pass: three quarters into the current one's life. */
export function renewAtMs(pass: PeerPass): number {
  return (pass.notBefore + (pass.notAfter - pass.notBefore) * 0.75) * 1000
}
