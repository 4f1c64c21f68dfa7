// The certificate a Shoal peer's TLS listener shows before it knows who is calling. It names
// nothing (no swarm, no stable key: a fresh key per process), so a caller that is refused
// learns nothing from it, not even whether this host holds the swarm it asked for. Peers
// authenticate each other afterwards, by their passes, bound to the session (admission.ts).
// DER comes from @peculiar/asn1-x509; Node can parse certificates but not make them.
import { AsnConvert } from '@peculiar/asn1-schema'
import { AlgorithmIdentifier, AttributeTypeAndValue, Certificate, DirectoryString, Name, RelativeDistinguishedName, SubjectPublicKeyInfo, TBSCertificate, Validity, Version } from '@peculiar/asn1-x509'
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto'

export interface SessionCertificate {
  readonly certPem: string
  readonly keyPem: string
}

const ED25519 = '1.3.101.112'
const COMMON_NAME = '2.5.4.3'

function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END ${label}-----\n`
}

/** `random` gives the serial number's 8 bytes. */
export function makeSessionCertificate(now: Date, random: (n: number) => Buffer = randomBytes): SessionCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const alg = new AlgorithmIdentifier({ algorithm: ED25519 })
  const name = new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: COMMON_NAME, value: new DirectoryString({ utf8String: 'shoal-peer' }) })])])
  const serial = random(8)
  // A positive INTEGER in its shortest form: a first byte of 0 before one below 0x80 is padding
  // that OpenSSL refuses ("illegal padding"), which failed 1 in 256 peer listeners.
  serial[0] = (serial[0]! & 0x3f) | 0x40
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(serial).buffer,
    signature: alg,
    issuer: name,
    validity: new Validity({ notBefore: new Date(now.getTime() - 86_400_000), notAfter: new Date(now.getTime() + 365 * 86_400_000) }),
    subject: name,
    subjectPublicKeyInfo: AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo),
  })
  const signature = sign(null, Buffer.from(AsnConvert.serialize(tbs)), privateKey)
  const cert = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: alg, signatureValue: new Uint8Array(signature).buffer })
  return { certPem: pem('CERTIFICATE', Buffer.from(AsnConvert.serialize(cert))), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }
}
