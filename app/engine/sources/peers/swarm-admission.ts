// Which peers a swarm admits, for one release. Private and lan releases run every peer
// session over TLS 1.3 and admit only holders of a pass from the release's admission
// authority (tls-peers.ts); public releases keep plain BitTorrent with MSE, so standard
// clients can join them.
import { createPublicKey, type KeyObject } from 'node:crypto'
import type { Manifest } from '../../../../shared/release-schema.ts'
import { ShoalError } from '../../../../shared/errors.ts'
import { spkiBase64 } from '../../../release/admission.ts'
import { holdPass, type PassHolder } from './pass-holder.ts'

export interface AdmissionSettings {
  /** The admission private key, on the operator's own machines: they issue their own pass. */
  readonly admissionKey?: KeyObject | undefined
  /** How often the revocation list is fetched again; 5 minutes when unset. */
  readonly revocationCheckMs?: number | undefined
}

export interface SwarmAdmission {
  readonly swarm: string
  readonly authority: KeyObject
  readonly holder: PassHolder
}

/** Whether a release's swarm is admission-controlled. */
export function admissionControlled(m: Manifest): boolean {
  return m.scope !== 'public'
}

/** The release's admission key: the one it names, else its publisher's. */
export function admissionAuthority(m: Manifest, publisherKey: KeyObject): KeyObject {
  return m.admission ? createPublicKey({ key: Buffer.from(m.admission.key, 'base64'), format: 'der', type: 'spki' }) : publisherKey
}

/**
 * This client's pass for the release's swarm, from its trackers' control service (enrolling
 * with `credential`) or issued locally; undefined for a public release. Throws E_PEER_AUTH
 * when no pass can be had.
 */
export async function joinAdmission(m: Manifest, publisherKey: KeyObject, announce: readonly string[], credential: string | undefined, s: AdmissionSettings): Promise<SwarmAdmission | undefined> {
  if (!admissionControlled(m)) return undefined
  const authority = admissionAuthority(m, publisherKey)
  if (s.admissionKey && spkiBase64(s.admissionKey) !== spkiBase64(authority)) {
    throw new ShoalError('E_PEER_AUTH', `the admission key given is not the one release ${m.product} ${m.version} names`, "pass the release's admission key, or none to enroll with its control service")
  }
  const holder = await holdPass({
    swarm: m.pack.infoHash,
    authority,
    source: { admissionKey: s.admissionKey, services: announce, credential },
    checkMs: s.revocationCheckMs ?? 300_000,
  })
  return { swarm: m.pack.infoHash, authority, holder }
}
