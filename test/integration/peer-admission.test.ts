// Trusted peers (issue 14): a private release's swarm admits only holders of a pass from its
// admission authority, shown inside TLS 1.3 and proven on the session. A real tracker issues
// passes to clients with the enrollment token, a real `shoal seed` serves, and forged peers try
// every way in. Each is refused before any piece moves, learns nothing, and the honest peer
// still completes from the seeder alone (the CDN refuses the pack).
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { rename, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { issuePass, readPass, spkiBase64 } from '../../app/release/admission.ts'
import { attemptAdmission } from '../support/admission-client.ts'
import { testAdmissionKey } from '../support/admission-key.ts'
import { freePort } from '../support/free-port.ts'
import { startCli } from '../support/long-running-cli.ts'
import { startNginx } from '../support/nginx.ts'
import { makeFixture } from '../support/release-fixture.ts'
import { runCli } from '../support/run-cli.ts'
import { useTempDirs } from '../support/temp-dir.ts'

const tempDir = useTempDirs()
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const MiB = 1024 * 1024
const TOKEN = 'enrollment-secret'
const HOUR = 3_600_000

/** A pass the control service would issue, for `holder`. */
async function enroll(trackerUrl: string, swarm: string, holder: KeyObject, token = TOKEN): Promise<{ status: number; pass?: string }> {
  const res = await fetch(new URL('/admission/pass', trackerUrl), { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ swarm, key: spkiBase64(holder) }) })
  return { status: res.status, ...(res.ok ? ((await res.json()) as { pass: string }) : {}) }
}

const newKey = () => generateKeyPairSync('ed25519').privateKey

describe('peer admission', () => {
  it('refuses every peer without a valid pass before any piece moves, and the honest peer completes', { timeout: 120_000 }, async () => {
    const dir = await tempDir()
    const admission = testAdmissionKey()
    const admissionKey = createPrivateKey(readFileSync(admission.key))
    await writeFile(join(dir, 'token'), TOKEN)
    const revoked = join(dir, 'revoked.txt')
    await writeFile(revoked, '')
    const trackerPort = await freePort()
    const tracker = startCli(['tracker', '--port', String(trackerPort), '--token-file', join(dir, 'token'), '--admission-key', admission.key, '--revoked', revoked])
    cleanups.push(() => tracker.stop())
    await tracker.waitFor('listening')
    const trackerUrl = `http://127.0.0.1:${trackerPort}/announce`

    const f = await makeFixture(dir, 8 * MiB)
    expect((await f.publish(f.build, '1.0.0', ['--tracker', trackerUrl])).code).toBe(0)
    const m = await f.readManifest('1.0.0')
    const swarm = m.pack.infoHash
    const nginx = await startNginx(f.cdn, join(dir, 'nginx'))
    cleanups.push(() => nginx.stop())
    const channel = `${nginx.url}/game/channels/stable.json`
    const pub = join(f.keyDir, 'publisher.pub')
    // Clients enroll with the control service: none holds the admission key here.
    const client = (name: string) => ({ SHOAL_DATA_DIR: join(dir, `data-${name}`), SHOAL_ADMISSION_KEY: '' })
    const tokenArgs = ['--tracker-token-file', join(dir, 'token')]

    const seedInstall = join(dir, 'seed-install')
    const got = await runCli(['get', channel, '--pubkey', pub, '--dir', seedInstall, ...tokenArgs], client('seed'))
    expect(got.code, got.stderr).toBe(0)

    // A machine the operator revoked: its pass is valid in every other way.
    const revokedKey = newKey()
    const revokedPass = await enroll(trackerUrl, swarm, revokedKey)
    expect(revokedPass.status).toBe(200)
    await writeFile(revoked, `# lost laptop\n${readPass(revokedPass.pass!)!.serial}\n`)
    // Without the enrollment credential there is no pass.
    expect((await enroll(trackerUrl, swarm, newKey(), 'wrong')).status).toBe(403)

    const seeder = startCli(['seed', '--dir', seedInstall, '--pubkey', pub, '--listen', '127.0.0.1', ...tokenArgs], client('seed'))
    cleanups.push(() => seeder.stop())
    const { port } = (await seeder.waitFor('seeding')) as { port: number }

    const honestKey = newKey()
    const honest = await enroll(trackerUrl, swarm, honestKey)
    const replayer = newKey()
    const other = newKey()
    const passFor = (o: { swarm?: string; by?: KeyObject; at?: number; holder?: KeyObject }) =>
      issuePass(o.by ?? admissionKey, { swarm: o.swarm ?? swarm, holder: o.holder ?? other, seconds: 3600, nowMs: o.at ?? Date.now() })
    const btHandshake = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), Buffer.from(swarm, 'hex'), Buffer.alloc(20, 0x41)])
    const attacks = {
      'no-certificate': { raw: btHandshake },
      expired: { pass: passFor({ at: Date.now() - 5 * HOUR }), proofKey: other },
      'wrong-swarm': { pass: passFor({ swarm: 'ef'.repeat(20) }), proofKey: other },
      'wrong-authority': { pass: passFor({ by: newKey() }), proofKey: other },
      revoked: { pass: revokedPass.pass!, proofKey: revokedKey },
      // The honest peer's pass, copied, shown with the thief's own key.
      'key-mismatch': { pass: honest.pass!, proofKey: replayer },
    } as const
    for (const [reason, attack] of Object.entries(attacks)) {
      const outcome = await attemptAdmission({ port, swarm, ...attack })
      expect(outcome.admitted, reason).toBe(false)
      // Refused peers learn nothing: no pass, no BitTorrent handshake, no bitfield.
      expect(outcome.rest.length, reason).toBe(0)
    }
    // A swarm the seeder does not hold gets the very same answer as a refused pass.
    const elsewhere = await attemptAdmission({ port, swarm: 'ef'.repeat(20), pass: passFor({ swarm: 'ef'.repeat(20) }), proofKey: other })
    expect([elsewhere.admitted, elsewhere.rest.length]).toEqual([false, 0])
    // Plain BitTorrent, without TLS: the TLS handshake fails; no BitTorrent byte comes back.
    const plain = await new Promise<Buffer>((resolve) => {
      const got: Buffer[] = []
      const s = connect(port, '127.0.0.1', () => s.write(btHandshake))
      s.on('data', (d: Buffer) => got.push(d))
      s.on('error', () => undefined)
      s.on('close', () => resolve(Buffer.concat(got)))
      setTimeout(() => s.destroy(), 5000)
    })
    expect(plain.includes(Buffer.from('BitTorrent protocol'))).toBe(false)
    // The honest pass is admitted.
    const admitted = await attemptAdmission({ port, swarm, pass: honest.pass!, proofKey: honestKey })
    expect(admitted.admitted).toBe(true)
    admitted.socket.destroy()

    // The honest peer completes from the seeder alone: the CDN refuses the pack.
    await rename(join(f.cdn, 'game', '1.0.0', 'pack.chunks'), join(dir, 'pack.chunks'))
    const leech = await runCli(['get', channel, '--pubkey', pub, '--dir', join(dir, 'leech'), ...tokenArgs, '--json'], client('leech'))
    expect(leech.code, leech.stderr).toBe(0)
    const done = leech.last as { bytes: { cdn: number; lan: number }; totalBytes: number }
    expect(done.bytes.cdn).toBe(0)
    expect(done.bytes.lan).toBeGreaterThanOrEqual(done.totalBytes)

    // A client without the enrollment credential gets no pass, says so, and the CDN serves it.
    await rename(join(dir, 'pack.chunks'), join(f.cdn, 'game', '1.0.0', 'pack.chunks'))
    const outsider = await runCli(['get', channel, '--pubkey', pub, '--dir', join(dir, 'outsider'), '--json'], client('outsider'))
    expect(outsider.code, outsider.stderr).toBe(0)
    expect(outsider.last['peerAuthError']).toMatch(/403/)
    expect((outsider.last['bytes'] as { lan: number }).lan).toBe(0)

    const stopped = (await seeder.stop()).events.find((e) => e['event'] === 'stopped')!
    const refusals = stopped['peerRefusals'] as Record<string, number>
    console.log(`seeder refusals ${JSON.stringify(refusals)}`)
    for (const reason of Object.keys(attacks)) expect(refusals[reason], reason).toBeGreaterThanOrEqual(1)
    expect(refusals['unknown-swarm']).toBeGreaterThanOrEqual(1)
    const metrics = await (await fetch(`http://127.0.0.1:${trackerPort}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text()
    expect(metrics).toMatch(/shoal_admission_passes_issued_total [4-9]/)
    expect(metrics).toMatch(/shoal_admission_refused_total\{reason="credential"\} [1-9]/)
  })
})
