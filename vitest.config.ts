import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Every shoal process a test starts inherits this: LAN discovery multicasts out of every
    // interface, so it stays off unless a namespace test clears it (test/support/netns.ts).
    env: { SHOAL_NO_LSD: '1' },
    // One swarm admission key for the whole run (test/support/admission-key.ts).
    globalSetup: ['test/support/admission-key.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
})
