// `npm run test:e2e`: the built renderer in Debian's Chromium, driven by Playwright, against a real
// agent downloading from nginx and a peer. Kept out of the unit run (its files end in .e2e.ts).
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    testTimeout: 240_000,
    hookTimeout: 240_000,
    fileParallelism: false,
    // One swarm admission key for the run, removed at its end (test/support/admission-key.ts).
    globalSetup: ['test/support/admission-key.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
})
