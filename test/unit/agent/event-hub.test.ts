import { describe, expect, it } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ApiEvent, Job } from '../../../shared/api-contract.ts'
import { EventHub } from '../../../app/agent/event-hub.ts'
import { DEFAULT_SETTINGS } from '../../../app/policy/settings-merge.ts'
import { sampleJob } from '../../support/sample-status.ts'

const job = (id: string, bytesDone: number): Job => sampleJob({ id, bytesDone })

describe('event hub', () => {
  it('sends a snapshot, then at most 4 messages a second, each with only the jobs that changed', async () => {
    const jobs = new Map([['a', job('a', 0)], ['b', job('b', 0)], ['c', job('c', 0)]])
    const hub = new EventHub({
      status: () => ({ jobs: [...jobs.values()] }) as never,
      job: (id) => jobs.get(id),
      products: () => [],
      settingsEvent: () => ({ settings: DEFAULT_SETTINGS, locked: [], paused: false }),
    })
    const got: { at: number; event: ApiEvent }[] = []
    hub.subscribe((event) => got.push({ at: performance.now(), event }))
    expect(got[0]?.event.type).toBe('snapshot')
    const started = performance.now()
    // 200 changes to two jobs over a second; job c never changes.
    for (let i = 0; i < 100; i++) {
      jobs.get('a')!.bytesDone = i
      hub.jobChanged('a')
      if (i % 2 === 0) hub.jobChanged('b')
      await sleep(10)
    }
    await sleep(300)
    hub.close()
    const changes = got.slice(1)
    const seconds = (performance.now() - started) / 1000
    expect(changes.length).toBeLessThanOrEqual(Math.ceil(4 * seconds) + 1)
    expect(changes.length).toBeGreaterThanOrEqual(3)
    for (let i = 1; i < changes.length; i++) expect(changes[i]!.at - changes[i - 1]!.at).toBeGreaterThanOrEqual(245)
    for (const { event } of changes) {
      expect(event.type).toBe('jobs')
      if (event.type === 'jobs') expect(event.jobs.map((j) => j.id).every((id) => id === 'a' || id === 'b')).toBe(true)
    }
    const last = changes.at(-1)!.event
    expect(last.type === 'jobs' && last.jobs.find((j) => j.id === 'a')?.bytesDone).toBe(99)
  })
})
