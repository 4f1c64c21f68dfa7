// The control service's admission endpoints, beside /announce:
//   POST /admission/pass     {swarm, key, seconds?} with the enrollment credential as a bearer
//                            token → {pass}: a short-lived pass for that key and swarm;
//   GET  /admission/revoked  → the revocation list, signed by the admission key.
// Revocations are read from a file the operator edits (one pass serial or holder key per line);
// it is read again when it changes, and peers fetch the list every few minutes.
import type { KeyObject } from 'node:crypto'
import { createPublicKey } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import * as v from 'valibot'
import { issuePass, MAX_PASS_SECONDS, signRevocations } from '../release/admission.ts'
import { int } from '../../shared/schema-rules.ts'

export interface AdmissionServiceOptions {
  /** The admission private key the releases name (or the publisher's own). */
  readonly admissionKey: KeyObject
  /** Whether a request carries a valid enrollment credential (the tracker token, when one is set). */
  readonly enrolled: (req: IncomingMessage, url: URL) => boolean
  /** Longest pass issued, in seconds. */
  readonly passSeconds: number
  /** The operator's revocations, one serial or key per line; none when undefined. */
  readonly revokedFile: string | undefined
  readonly now: () => number
}

export interface AdmissionService {
  /** Answers the request when it is an admission endpoint's; false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean
  /** Prometheus lines: passes issued, enrollments refused. */
  metrics(): string
}

const passRequestSchema = v.strictObject({
  swarm: v.pipe(v.string(), v.regex(/^[0-9a-f]{40}$/)),
  key: v.pipe(v.string(), v.maxLength(128)),
  seconds: v.optional(int(1)),
})

const MAX_BODY_BYTES = 4096

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (d: string) => {
      body += d
      if (body.length > MAX_BODY_BYTES) {
        resolve(undefined)
        req.destroy()
      }
    })
    req.on('end', () => resolve(body))
    req.on('error', () => resolve(undefined))
  })
}

function answer(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type }).end(body)
}

export function admissionService(o: AdmissionServiceOptions): AdmissionService {
  let issued = 0
  const refused = { credential: 0, request: 0 }
  let cached: { mtimeMs: number; signed: string } | undefined
  const revocations = (): string => {
    const mtimeMs = o.revokedFile ? (statSync(o.revokedFile, { throwIfNoEntry: false })?.mtimeMs ?? -1) : -1
    if (cached?.mtimeMs === mtimeMs) return cached.signed
    const lines = mtimeMs < 0 || !o.revokedFile ? [] : readFileSync(o.revokedFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    const serials = lines.filter((l) => /^[0-9a-f]{32}$/.test(l))
    const keys = lines.filter((l) => !serials.includes(l))
    const signed = signRevocations(o.admissionKey, { issuedAt: Math.floor(o.now() / 1000), serials, keys })
    cached = { mtimeMs, signed }
    return signed
  }
  const issue = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (!o.enrolled(req, url)) {
      refused.credential++
      return answer(res, 403, 'text/plain', 'a peer pass needs the enrollment credential (Authorization: Bearer <token>)')
    }
    const body = await readBody(req)
    let parsed: v.InferOutput<typeof passRequestSchema> | undefined
    try {
      parsed = v.parse(passRequestSchema, JSON.parse(body ?? ''))
    } catch {
      parsed = undefined
    }
    let holder: KeyObject | undefined
    try {
      holder = parsed && createPublicKey({ key: Buffer.from(parsed.key, 'base64'), format: 'der', type: 'spki' })
    } catch {
      holder = undefined
    }
    if (!parsed || holder?.asymmetricKeyType !== 'ed25519') {
      refused.request++
      return answer(res, 400, 'text/plain', 'expected {"swarm": "<infohash hex>", "key": "<ed25519 SPKI DER, base64>", "seconds"?: n}')
    }
    issued++
    const seconds = Math.min(o.passSeconds, MAX_PASS_SECONDS, parsed.seconds ?? o.passSeconds)
    answer(res, 200, 'application/json', JSON.stringify({ pass: issuePass(o.admissionKey, { swarm: parsed.swarm, holder, seconds, nowMs: o.now() }) }))
  }
  return {
    handle: (req, res, url) => {
      if (url.pathname === '/admission/pass' && req.method === 'POST') {
        void issue(req, res, url)
        return true
      }
      if (url.pathname === '/admission/revoked' && req.method === 'GET') {
        answer(res, 200, 'text/plain', revocations())
        return true
      }
      return false
    },
    metrics: () =>
      [
        '# HELP shoal_admission_passes_issued_total Peer passes issued since start.',
        '# TYPE shoal_admission_passes_issued_total counter',
        `shoal_admission_passes_issued_total ${issued}`,
        '# HELP shoal_admission_refused_total Pass requests refused, by reason.',
        '# TYPE shoal_admission_refused_total counter',
        `shoal_admission_refused_total{reason="credential"} ${refused.credential}`,
        `shoal_admission_refused_total{reason="request"} ${refused.request}`,
      ].join('\n') + '\n',
  }
}
