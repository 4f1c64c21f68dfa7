// One swarm admission key for the test run. Fixture releases name it (publish
// --admission-key), and SHOAL_ADMISSION_KEY hands it to every `shoal get` and `shoal seed` the
// tests start: each test client is then an operator's machine that issues its own peer pass.
// The enrollment path (a control service issuing passes) has its own tests in
// test/integration/peer-admission.test.ts, which clear the variable.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '../../app/release/signing.ts'

/** Set by vitest's global setup (below) for every test file's process. */
const RUN_DIR = 'SHOAL_TEST_ADMISSION_DIR'

let paths: { key: string; pub: string } | undefined

function writeKey(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-admission-'))
  const pair = generateKeyPair()
  writeFileSync(join(dir, 'admission.key'), pair.privatePem, { mode: 0o600 })
  writeFileSync(join(dir, 'admission.pub'), pair.publicPem)
  return dir
}

export function testAdmissionKey(): { key: string; pub: string } {
  if (paths) return paths
  let dir = process.env[RUN_DIR]
  if (dir === undefined) {
    // Outside vitest's runs (a script): a key of this process's own, gone when it exits.
    const own = writeKey()
    process.once('exit', () => rmSync(own, { recursive: true, force: true }))
    dir = own
  }
  paths = { key: join(dir, 'admission.key'), pub: join(dir, 'admission.pub') }
  process.env['SHOAL_ADMISSION_KEY'] = paths.key
  return paths
}

/** vitest's globalSetup: one key for the run, removed at its end (a test file's process is killed, so it cannot clean up). */
export default function setup(): () => void {
  const dir = writeKey()
  process.env[RUN_DIR] = dir
  return () => rmSync(dir, { recursive: true, force: true })
}
