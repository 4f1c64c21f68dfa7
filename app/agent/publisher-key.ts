// Publisher keys as the API carries them: base64 of the raw 32-byte ed25519 key.
// Clients may send the SPKI PEM from `shoal keygen` instead; it is stored raw.
import { createPublicKey, type KeyObject } from 'node:crypto'
import { ShoalError } from '../../shared/errors.ts'
import { parseKey } from '../release/signing.ts'

/** base64 of the raw key, from either form; throws E_KEY on anything else. */
export function normalizePublicKey(text: string): string {
  if (text.includes('BEGIN')) {
    const jwk = parseKey(text, 'public', 'the publisher key').export({ format: 'jwk' })
    return Buffer.from(jwk.x!, 'base64url').toString('base64')
  }
  const raw = Buffer.from(text.trim(), 'base64')
  if (raw.length !== 32 || raw.toString('base64') !== text.trim()) throw new ShoalError('E_KEY', 'the publisher key is neither a PEM public key nor base64 of 32 raw bytes', 'pass the publisher.pub written by `shoal keygen`')
  return raw.toString('base64')
}

export function publicKeyObject(base64: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(base64, 'base64').toString('base64url') }, format: 'jwk' })
}
