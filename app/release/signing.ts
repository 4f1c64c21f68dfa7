import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { zstdCompressSync, zstdDecompressSync } from 'node:zlib'
import * as v from 'valibot'
import { envelopeSchema, RELEASE_LIMITS, type SignedEnvelope } from '../../shared/release-schema.ts'
import { ShoalError } from '../../shared/errors.ts'

export type EnvelopeType = SignedEnvelope['type']

export interface KeyPairPem {
  readonly privatePem: string
  readonly publicPem: string
}

export function generateKeyPair(): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  }
}

function asEd25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new ShoalError('E_KEY', `${what} is a ${key.asymmetricKeyType ?? 'symmetric'} key, not ed25519`, 'create a key pair with `shoal keygen`')
  }
  return key
}

export function parseKey(pem: string, kind: 'private' | 'public', source: string): KeyObject {
  let key: KeyObject
  try {
    key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem)
  } catch {
    const file = kind === 'private' ? 'publisher.key' : 'publisher.pub'
    throw new ShoalError('E_KEY', `${source} is not a PEM ${kind} key`, `pass the ${file} written by \`shoal keygen\``)
  }
  return asEd25519(key, source)
}

/** Short, stable name of a public key: the first 8 bytes of SHA-256 over its SPKI DER. */
export function keyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16)
}

// Domain separation: a manifest signature can never pass as a pointer signature.
function signedMessage(type: EnvelopeType, payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`shoal-signed-v1\0${type}\0`), payload])
}

export function sealEnvelope(type: EnvelopeType, json: string, privateKey: KeyObject, compress: boolean): Buffer {
  const raw = Buffer.from(json, 'utf8')
  const bytes = compress ? zstdCompressSync(raw) : raw
  const envelope: SignedEnvelope = {
    format: 'shoal-signed-v1',
    type,
    alg: 'ed25519',
    keyId: keyId(privateKey),
    signature: sign(null, signedMessage(type, bytes), privateKey).toString('base64'),
    encoding: compress ? 'zstd+base64' : 'utf8',
    payload: compress ? bytes.toString('base64') : json,
  }
  return Buffer.from(JSON.stringify(envelope, null, compress ? 0 : 2) + '\n')
}

/**
 * Checks the envelope's signature and returns the payload text. Nothing inside the
 * payload is parsed before the signature verifies.
 */
export function openEnvelope(file: Uint8Array, type: EnvelopeType, publicKey: KeyObject, maxPayloadBytes: number, what: string): string {
  const env = parseEnvelope(file, what)
  if (env.type !== type) throw new ShoalError('E_SIGNATURE', `${what} is a signed ${env.type}, expected a ${type}`)
  const expectedKey = keyId(publicKey)
  if (env.keyId !== expectedKey) {
    throw new ShoalError('E_SIGNATURE', `${what} is signed by key ${env.keyId}, but the publisher key is ${expectedKey}`, 'check --pubkey: it must be the key the release was published with')
  }
  const bytes = payloadBytes(env)
  if (!verify(null, signedMessage(type, bytes), publicKey, Buffer.from(env.signature, 'base64'))) {
    throw new ShoalError('E_SIGNATURE', `${what} signature check failed: its content was altered after signing`, 'do not trust this copy; fetch it again from the publisher')
  }
  return payloadText(env, bytes, maxPayloadBytes, what)
}

/**
 * The payload of an envelope this client verified before it stored it (the state database keeps
 * only checked manifests), for work that has no publisher key at hand, such as a rollback.
 */
export function storedPayload(file: Uint8Array, maxPayloadBytes: number, what: string): string {
  const env = parseEnvelope(file, what)
  return payloadText(env, payloadBytes(env), maxPayloadBytes, what)
}

const payloadBytes = (env: SignedEnvelope) => (env.encoding === 'utf8' ? Buffer.from(env.payload, 'utf8') : Buffer.from(env.payload, 'base64'))

function parseEnvelope(file: Uint8Array, what: string): SignedEnvelope {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(file).toString('utf8'))
  } catch {
    throw new ShoalError('E_SIGNATURE', `${what} is not a signed Shoal document (not JSON)`, 'the file is damaged or not a Shoal pointer/manifest')
  }
  const result = v.safeParse(envelopeSchema, parsed)
  if (!result.success) {
    throw new ShoalError('E_SIGNATURE', `${what} is not a signed Shoal document: ${result.issues[0].message}`)
  }
  return result.output
}

function payloadText(env: SignedEnvelope, bytes: Buffer, maxPayloadBytes: number, what: string): string {
  if (env.encoding === 'utf8') return env.payload
  // Bounded before anything is decoded: a tiny payload must not expand into an out-of-memory parse.
  const limit = Math.min(maxPayloadBytes, 1024 * 1024 + bytes.length * RELEASE_LIMITS.payloadExpansion)
  try {
    return zstdDecompressSync(bytes, { maxOutputLength: limit }).toString('utf8')
  } catch {
    throw new ShoalError('E_LIMIT', `${what} payload does not decompress within ${limit} bytes (${bytes.length} bytes compressed)`)
  }
}
