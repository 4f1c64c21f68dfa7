// One swarm admission key for the test process. Fixture releases name it (publish
// --admission-key), and SHOAL_ADMISSION_KEY hands it to every `shoal get` and `shoal seed` the
// tests start: each test client is then an operator's machine that issues its own peer pass.
// The enrollment path (a control service issuing passes) has its own tests in
// test/integration/peer-admission.test.ts, which clear the variable.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '../../app/release/signing.ts'

let paths: { key: string; pub: string } | undefined

export function testAdmissionKey(): { key: string; pub: string } {
  if (paths) return paths
  const dir = mkdtempSync(join(tmpdir(), 'shoal-admission-'))
  const pair = generateKeyPair()
  paths = { key: join(dir, 'admission.key'), pub: join(dir, 'admission.pub') }
  writeFileSync(paths.key, pair.privatePem, { mode: 0o600 })
  writeFileSync(paths.pub, pair.publicPem)
  process.env['SHOAL_ADMISSION_KEY'] = paths.key
  return paths
}
