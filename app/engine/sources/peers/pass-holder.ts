// This client's admission to one swarm: its own key, its current pass and the swarm's latest
// revocation list. The pass comes from the control service (POST <tracker>/admission/pass,
// authenticated by the enrollment credential) or, on an operator's own machines that hold the
// admission key, is issued locally. It is renewed three quarters into its life, and the
// revocation list is fetched again every `checkMs`.
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { ShoalError } from '../../../../shared/errors.ts'
import { httpRequest } from '../../../net/http-request.ts'
import { issuePass, readPass, readRevocations, renewAtMs, spkiBase64, type PeerPass, type RevocationList } from '../../../release/admission.ts'

export interface PassSource {
  /** The admission private key, when this machine is allowed to issue its own pass. */
  readonly admissionKey?: KeyObject | undefined
  /** Control-service URLs (announce URLs work: the admission paths sit beside /announce). */
  readonly services: readonly string[]
  /** The enrollment credential sent as a bearer token. */
  readonly credential: string | undefined
}

export interface PassHolder {
  readonly key: KeyObject
  pass(): string
  revoked(): RevocationList | undefined
  /** Called after each revocation list is fetched, to drop peers it revokes. */
  onRevocations(listener: () => void): void
  stop(): void
}

export interface PassHolderOptions {
  readonly swarm: string
  readonly authority: KeyObject
  readonly source: PassSource
  /** How often the revocation list is fetched again. */
  readonly checkMs: number
}

/** Passes a client asks for last this long; the control service may shorten them. */
const PASS_SECONDS = 4 * 3600
const REQUEST_TIMEOUT_MS = 10_000

function serviceUrl(base: string, path: string): string {
  return new URL(path, base).toString()
}

async function enroll(o: PassHolderOptions, key: KeyObject): Promise<string> {
  const reasons: string[] = []
  for (const base of o.source.services) {
    try {
      const res = await httpRequest(serviceUrl(base, 'admission/pass'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(o.source.credential ? { authorization: `Bearer ${o.source.credential}` } : {}) },
        body: JSON.stringify({ swarm: o.swarm, key: spkiBase64(key), seconds: PASS_SECONDS }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      })
      const text = res.body.toString()
      if (res.status < 200 || res.status > 299) {
        reasons.push(`${base}: ${res.status} ${text.slice(0, 200)}`)
        continue
      }
      const pass = (JSON.parse(text) as { pass?: unknown }).pass
      if (typeof pass === 'string' && readPass(pass)?.key === spkiBase64(key)) return pass
      reasons.push(`${base}: the answer holds no pass for this key`)
    } catch (err) {
      reasons.push(`${base}: ${(err as Error).message}`)
    }
  }
  throw new ShoalError(
    'E_PEER_AUTH',
    reasons.length > 0 ? `no control service issued a peer pass for swarm ${o.swarm}: ${reasons.join('; ')}` : `the release names no control service to issue a peer pass for swarm ${o.swarm}`,
    'pass the tracker token (--tracker-token-file) the control service enrolls with, or --admission-key on a machine of the operator',
  )
}

async function fetchRevocations(o: PassHolderOptions): Promise<RevocationList | undefined> {
  for (const base of o.source.services) {
    try {
      const res = await httpRequest(serviceUrl(base, 'admission/revoked'), { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
      if (res.status !== 200) continue
      const list = readRevocations(res.body.toString().trim(), o.authority)
      if (list) return list
    } catch {
      // The next service, or the list we have.
    }
  }
  return undefined
}

export async function holdPass(o: PassHolderOptions): Promise<PassHolder> {
  const { privateKey: key } = generateKeyPairSync('ed25519')
  const obtain = async () => (o.source.admissionKey ? issuePass(o.source.admissionKey, { swarm: o.swarm, holder: key, seconds: PASS_SECONDS, nowMs: Date.now() }) : enroll(o, key))
  let pass = await obtain()
  let revoked = await fetchRevocations(o)
  const listeners: (() => void)[] = []
  let stopped = false
  let renewTimer: NodeJS.Timeout | undefined
  const scheduleRenewal = () => {
    const current = readPass(pass) as PeerPass
    renewTimer = setTimeout(() => {
      void obtain()
        .then((next) => (pass = next))
        // A failed renewal is tried again in a minute; the current pass holds until it expires.
        .catch(() => undefined)
        .finally(() => !stopped && scheduleRenewal())
    }, Math.max(60_000, renewAtMs(current) - Date.now()))
    renewTimer.unref()
  }
  scheduleRenewal()
  const checkTimer = setInterval(() => {
    void fetchRevocations(o).then((list) => {
      if (!list || (revoked && list.issuedAt < revoked.issuedAt)) return
      revoked = list
      for (const l of listeners) l()
    })
  }, o.checkMs)
  checkTimer.unref()
  return {
    key,
    pass: () => pass,
    revoked: () => revoked,
    onRevocations: (l) => listeners.push(l),
    stop: () => {
      stopped = true
      clearTimeout(renewTimer)
      clearInterval(checkTimer)
    },
  }
}
