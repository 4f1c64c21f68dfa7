// A valid agent status for tests of main/ and renderer/ that never reach the engine.
import * as v from 'valibot'
import { statusSchema, type Job, type Status } from '../../shared/api-contract.ts'

export function sampleJob(overrides: Partial<Job> = {}): Job {
  return {
    id: 'job-1',
    productId: 'game',
    kind: 'install',
    state: 'running',
    detail: null,
    mode: 'foreground',
    priority: 0,
    fromVersion: null,
    version: '1.0.0',
    bytesTotal: 1000,
    bytesDone: 250,
    rates: { cdn: 10, lan: 20, wan: 0 },
    etaSeconds: 25,
    bytes: { cdn: 100, lan: 150, wan: 0, local: 0, wasted: 0 },
    offload: 0.6,
    peers: { lan: 1, wan: 0 },
    error: null,
    createdAt: '2026-11-22T10:00:00.000Z',
    updatedAt: '2026-11-22T10:00:01.000Z',
    ...overrides,
  }
}

export function sampleStatus(jobs: Job[] = [sampleJob()]): Status {
  return v.parse(statusSchema, {
    apiVersion: 1,
    agentVersion: '0.1.0',
    startedAt: '2026-11-22T10:00:00.000Z',
    paused: false,
    products: [
      {
        id: 'game',
        name: 'Game',
        channelUrl: 'http://127.0.0.1:1/game/channels/stable.json',
        publicKey: 'AAAA',
        installDir: '/games/game',
        installedVersion: null,
        availableVersion: '1.0.0',
        state: 'downloading',
        error: null,
        lastCheckAt: null,
        managed: false,
      },
    ],
    jobs,
    settings: {
      caps: { down: { global: null, cdn: null, peers: null }, up: { global: null, peers: null } },
      schedule: { timeZone: 'UTC', rules: [], installWindow: null },
      updateMode: 'background',
      sharing: { consentGiven: false, mode: 'lan', monthlyUploadCap: null, uploadOnBattery: false, uploadOnMetered: false, minFreeDisk: 0, seedRetentionDays: 30 },
      checkIntervalMinutes: 60,
      reportOffload: false,
    },
    locked: [],
    policy: { path: '/etc/shoal/policy.json', loaded: false, error: null },
    effectiveCaps: { down: null, up: null },
  })
}
