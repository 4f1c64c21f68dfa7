import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
import { zstdCompressSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { generateKeyPair, keyId, openEnvelope, parseKey, sealEnvelope } from '../../../app/release/signing.ts'

const pair = generateKeyPair()
const priv = createPrivateKey(pair.privatePem)
const pub = createPublicKey(pair.publicPem)

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return (err as { code?: string }).code
  }
  return undefined
}

describe('signed envelopes', () => {
  it('round-trips plain and compressed payloads', () => {
    expect(openEnvelope(sealEnvelope('pointer', '{"a":1}', priv, false), 'pointer', pub, 1000, 'p')).toBe('{"a":1}')
    expect(openEnvelope(sealEnvelope('manifest', '{"b":2}', priv, true), 'manifest', pub, 1000, 'm')).toBe('{"b":2}')
  })

  it('refuses a changed payload, another key, and a manifest passed off as a pointer', () => {
    const sealed = sealEnvelope('pointer', '{"version":"1.0.0"}', priv, false).toString()
    expect(codeOf(() => openEnvelope(Buffer.from(sealed.replace('1.0.0', '9.0.0')), 'pointer', pub, 1000, 'p'))).toBe('E_SIGNATURE')
    const other = createPublicKey(generateKeyPair().publicPem)
    expect(() => openEnvelope(Buffer.from(sealed), 'pointer', other, 1000, 'p')).toThrow(/signed by key .* publisher key is/)
    const manifest = sealEnvelope('manifest', '{}', priv, false)
    expect(codeOf(() => openEnvelope(manifest, 'pointer', pub, 1000, 'p'))).toBe('E_SIGNATURE')
    expect(codeOf(() => openEnvelope(Buffer.from('not json'), 'pointer', pub, 1000, 'p'))).toBe('E_SIGNATURE')
  })

  it('bounds decompression before parsing (a zstd bomb is refused)', () => {
    const bomb = sealEnvelope('manifest', ' '.repeat(10_000_000), priv, true)
    expect(bomb.length).toBeLessThan(10_000)
    expect(codeOf(() => openEnvelope(bomb, 'manifest', pub, 1_000_000, 'm'))).toBe('E_LIMIT')
    expect(zstdCompressSync(Buffer.alloc(1)).length).toBeGreaterThan(0)
  })

  it('names keys stably and rejects non-ed25519 or malformed keys', () => {
    expect(keyId(priv)).toBe(keyId(pub))
    expect(keyId(pub)).toMatch(/^[0-9a-f]{16}$/)
    expect(codeOf(() => parseKey('garbage', 'private', 'k'))).toBe('E_KEY')
    expect(codeOf(() => parseKey(pair.privatePem.replace(/PRIVATE/g, 'PUBLIC'), 'public', 'k'))).toBe('E_KEY')
    expect(() => parseKey(generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'public', 'k')).toThrow(/x25519 key, not ed25519/)
  })
})
