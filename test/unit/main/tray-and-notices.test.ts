import { describe, expect, it } from 'vitest'
import { parseLaunchOptions } from '../../../main/launch-options.ts'
import { TrayModel, trayStatus } from '../../../main/tray-status.ts'
import { UpdateNotices } from '../../../main/update-notices.ts'
import { sampleJob, sampleStatus } from '../../support/sample-status.ts'

describe('tray status', () => {
  it('says what is happening in one line', () => {
    expect(trayStatus(null)).toEqual({ line: 'Starting…', paused: false })
    expect(trayStatus({ paused: false, jobs: [] })).toEqual({ line: 'Up to date', paused: false })
    expect(trayStatus({ paused: false, jobs: [sampleJob({ state: 'done' })] }).line).toBe('Up to date')
    expect(trayStatus({ paused: false, jobs: [sampleJob()] }).line).toBe('Downloading: 25 %')
    expect(trayStatus({ paused: false, jobs: [sampleJob(), sampleJob({ id: 'j2', bytesDone: 750 })] }).line).toBe('Downloading 2 updates: 50 %')
    expect(trayStatus({ paused: true, jobs: [sampleJob()] })).toEqual({ line: 'Paused (1 waiting)', paused: true })
  })

  it('follows the event stream', () => {
    const model = new TrayModel()
    expect(model.status().line).toBe('Starting…')
    expect(model.apply({ type: 'snapshot', status: sampleStatus([]) }).line).toBe('Up to date')
    expect(model.apply({ type: 'jobs', jobs: [sampleJob({ bytesDone: 500 })], removed: [] }).line).toBe('Downloading: 50 %')
    const s = sampleStatus()
    expect(model.apply({ type: 'settings', settings: s.settings, locked: [], paused: true }).paused).toBe(true)
    expect(model.apply({ type: 'jobs', jobs: [], removed: ['job-1'] }).line).toBe('Paused')
  })
})

describe('update notifications', () => {
  it('announces each finished install or update once, and not jobs already done at start', () => {
    const notices = new UpdateNotices()
    expect(notices.next({ type: 'snapshot', status: sampleStatus([sampleJob({ id: 'old', state: 'done' })]) })).toEqual([])
    expect(notices.next({ type: 'jobs', jobs: [sampleJob({ id: 'old', state: 'done' })], removed: [] })).toEqual([])
    expect(notices.next({ type: 'jobs', jobs: [sampleJob({ id: 'u', kind: 'update', state: 'running', version: '1.1.0' })], removed: [] })).toEqual([])
    const done = sampleJob({ id: 'u', kind: 'update', state: 'done', fromVersion: '1.0.0', version: '1.1.0' })
    expect(notices.next({ type: 'jobs', jobs: [done], removed: [] })).toEqual([{ title: 'Update installed', body: 'Game was updated to 1.1.0.' }])
    expect(notices.next({ type: 'jobs', jobs: [done], removed: [] })).toEqual([])
    expect(notices.next({ type: 'jobs', jobs: [sampleJob({ id: 'v', kind: 'verify', state: 'done' })], removed: [] })).toEqual([])
  })

  it('passes on restart requests and warnings, not chatter', () => {
    const notices = new UpdateNotices()
    notices.next({ type: 'snapshot', status: sampleStatus([]) })
    expect(notices.next({ type: 'notice', level: 'info', message: 'Restart Game to finish the update', productId: 'game' })).toEqual([{ title: 'Game', body: 'Restart Game to finish the update' }])
    expect(notices.next({ type: 'notice', level: 'info', message: 'Checked for updates', productId: null })).toEqual([])
    expect(notices.next({ type: 'notice', level: 'warning', message: 'Disk almost full', productId: null })).toEqual([{ title: 'Shoal', body: 'Disk almost full' }])
  })
})

describe('launch options', () => {
  it('--hidden means no window', () => {
    expect(parseLaunchOptions(['electron', '.', '--hidden'])).toEqual({ hidden: true })
    expect(parseLaunchOptions(['electron', '.'])).toEqual({ hidden: false })
  })
})
