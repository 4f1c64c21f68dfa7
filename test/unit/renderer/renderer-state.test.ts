import { describe, expect, it } from 'vitest'
import type { ApiEvent, ShoalClient } from '../../../shared/api-contract.ts'
import { capToInput, formatEta, formatPercent, formatRate, inputToCap, inputToGigabytes } from '../../../renderer/display-format.ts'
import { jobForProduct, newestJob } from '../../../renderer/job-selection.ts'
import { lockReason } from '../../../renderer/policy-lock.tsx'
import { createShoalController } from '../../../renderer/shoal-store.ts'
import { SpeedHistory } from '../../../renderer/speed-history.ts'
import { sampleJob, sampleStatus } from '../../support/sample-status.ts'

/** A client whose snapshot and events the test hands over by hand. */
function scriptedClient() {
  let emit: (event: ApiEvent) => void = () => {}
  const status = sampleStatus([sampleJob(), sampleJob({ id: 'job-2', productId: 'other', state: 'done' })])
  const client = {
    status: () => Promise.resolve(status),
    history: () => Promise.resolve({ entries: [], monthly: [{ month: '2026-11', saved: 5, cdn: 3, uploaded: 1 }] }),
    subscribe: (on: (event: ApiEvent) => void) => {
      emit = on
      return () => (emit = () => {})
    },
  } as unknown as ShoalClient
  return { client, status, emit: (event: ApiEvent) => emit(event) }
}

describe('renderer store', () => {
  it('pulls the snapshot on start, then applies events, touching only the jobs that changed', async () => {
    const { client, emit } = scriptedClient()
    let clock = 1_000_000
    const c = createShoalController(client, () => clock)
    const stop = c.start()
    await new Promise((r) => setTimeout(r, 0))
    const before = c.store.getState()
    expect(before.connection).toBe('live')
    expect(Object.keys(before.jobs).sort()).toEqual(['job-1', 'job-2'])

    clock += 250
    emit({ type: 'jobs', jobs: [sampleJob({ bytesDone: 900, rates: { cdn: 1, lan: 2, wan: 3 } })], removed: [] })
    const after = c.store.getState()
    expect(after.jobs['job-1']!.bytesDone).toBe(900)
    expect(after.jobs['job-2']).toBe(before.jobs['job-2'])
    expect(after.agent).toBe(before.agent)
    expect(c.speed('job-1').series()).toEqual({ t: [1000, 1000.25], cdn: [10, 1], lan: [20, 2], wan: [0, 3] })

    emit({ type: 'jobs', jobs: [], removed: ['job-2'] })
    expect(Object.keys(c.store.getState().jobs)).toEqual(['job-1'])

    const s = sampleStatus()
    emit({ type: 'settings', settings: { ...s.settings, sharing: { ...s.settings.sharing, consentGiven: true } }, locked: ['sharing.mode'], paused: true })
    expect(c.store.getState().agent).toMatchObject({ paused: true, locked: ['sharing.mode'], settings: { sharing: { consentGiven: true } } })

    for (let i = 0; i < 8; i++) emit({ type: 'notice', level: 'info', message: `n${i}`, productId: null })
    expect(c.store.getState().notices.map((n) => n.message)).toEqual(['n3', 'n4', 'n5', 'n6', 'n7'])
    stop()
    emit({ type: 'jobs', jobs: [], removed: ['job-1'] })
    expect(Object.keys(c.store.getState().jobs)).toEqual(['job-1'])
  })

  it('turns a failed action into a notice in plain words', async () => {
    const { client } = scriptedClient()
    const c = createShoalController({ ...client, setPausedAll: () => Promise.reject(new Error('agent stopped')) })
    expect(await c.run('Pause all', (cl) => cl.setPausedAll(true))).toBe(false)
    expect(c.store.getState().notices.map((n) => n.message)).toEqual(['Pause all failed: agent stopped'])
  })

  it('loads the history when its view opens', async () => {
    const { client } = scriptedClient()
    const c = createShoalController(client)
    c.show('history')
    await new Promise((r) => setTimeout(r, 0))
    expect(c.store.getState().history?.monthly).toEqual([{ month: '2026-11', saved: 5, cdn: 3, uploaded: 1 }])
  })
})

describe('speed history', () => {
  it('keeps the newest samples in order and tells which classes carried bytes', () => {
    const h = new SpeedHistory(3)
    for (let i = 1; i <= 5; i++) h.push(i * 1000, { cdn: i, lan: i > 3 ? 1 : 0, wan: 0 })
    expect(h.series()).toEqual({ t: [3, 4, 5], cdn: [3, 4, 5], lan: [0, 1, 1], wan: [0, 0, 0] })
    expect(h.classesSeen()).toEqual(['cdn', 'lan'])
    expect(h.version).toBe(5)
  })
})

describe('display and selection helpers', () => {
  it('converts caps between MB/s inputs and bytes per second', () => {
    expect(inputToCap('')).toBeNull()
    expect(inputToCap(' 5 ')).toBe(5_000_000)
    expect(inputToCap('0')).toBeUndefined()
    expect(inputToCap('-3')).toBeUndefined()
    expect(inputToCap('fast')).toBeUndefined()
    expect(capToInput(2_500_000)).toBe('2.5')
    expect(capToInput(null)).toBe('')
    expect(inputToGigabytes('50')).toBe(50_000_000_000)
    expect(formatRate(5_000_000)).toBe('5.00 MB/s')
    expect(formatRate(231_400_000)).toBe('231 MB/s')
    expect(formatRate(999)).toBe('999 B/s')
    expect(formatEta(3725)).toBe('1 h 2 min')
    expect(formatEta(null)).toBe('—')
    expect(formatPercent(1)).toBe('100 %')
    expect(formatPercent(0.4567)).toBe('45.7 %')
  })

  it('shows a product its unfinished job first, else its newest', () => {
    const jobs = {
      a: sampleJob({ id: 'a', state: 'done', createdAt: '2026-11-22T12:00:00Z' }),
      b: sampleJob({ id: 'b', state: 'paused', createdAt: '2026-11-22T11:00:00Z' }),
      c: sampleJob({ id: 'c', productId: 'other', state: 'done', createdAt: '2026-11-22T13:00:00Z' }),
    }
    expect(jobForProduct(jobs, 'game')?.id).toBe('b')
    expect(jobForProduct(jobs, 'none')).toBeNull()
    expect(newestJob(jobs)?.id).toBe('b')
    expect(newestJob({ a: jobs.a, c: jobs.c })?.id).toBe('c')
  })

  it('a locked parent path locks its children and says where the policy lives', () => {
    const agent = { ...sampleStatus(), locked: ['caps', 'sharing.mode'] }
    expect(lockReason(agent, 'caps.down.global')).toMatch(/organisation's policy \(\/etc\/shoal\/policy\.json\)/)
    expect(lockReason(agent, 'sharing.mode')).not.toBeNull()
    expect(lockReason(agent, 'sharing.monthlyUploadCap')).toBeNull()
    expect(lockReason(agent, 'capsule')).toBeNull()
  })
})
