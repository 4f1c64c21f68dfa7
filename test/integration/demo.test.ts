import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const DEMO = fileURLToPath(new URL('../../app/demo/demo.ts', import.meta.url))

describe('npm run demo', () => {
  it('publishes, serves, and has every client install and update, the second one from the first (small size)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-demo-test-'))
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [DEMO, '--size', '8MiB', '--clients', '2', '--dir', dir], { maxBuffer: 1 << 24 })
      expect(stdout).toMatch(/client 1 gets 1\.0\.0 from the CDN, then seeds it/)
      expect(stdout.match(/^ {2}client \d +100% {2}done/gm)?.length).toBe(4)
      // Client 2 got its bytes from client 1, not the CDN.
      expect(stdout).toMatch(/^ {2}client 2 +100% {2}done +cdn 0 B +lan [1-9]/m)
      expect(stdout).toMatch(/Install: 2 clients; .* [1-9]\d? % offload/)
      expect(stdout).toMatch(/Update: .* reused from the installed versions/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
