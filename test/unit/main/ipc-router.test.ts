import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ShoalClient, Status } from '../../../shared/api-contract.ts'
import { IPC_EVENT_CHANNEL, IPC_METHODS, IPC_SUBSCRIBE_CHANNEL } from '../../../shared/ipc-contract.ts'
import * as electron from './fake-electron.ts'
import { sampleStatus } from '../../support/sample-status.ts'

vi.mock('electron', () => import('./fake-electron.ts'))
const { registerIpc } = await import('../../../main/ipc-router.ts')

const RENDERER = 'file:///opt/Shoal/resources/app.asar/renderer/dist/index.html'

/** Records the calls that got through; the router is what is under test, not the engine. */
function recordingClient(status: Status): { client: ShoalClient; calls: unknown[][] } {
  const calls: unknown[][] = []
  const record =
    (name: string, result: unknown = undefined) =>
    (...args: unknown[]) => {
      calls.push([name, ...args])
      return Promise.resolve(result)
    }
  const client = {
    status: record('status', status),
    addProduct: record('addProduct'),
    removeProduct: record('removeProduct'),
    checkProduct: record('checkProduct'),
    createJob: record('createJob'),
    jobAction: record('jobAction', status.jobs[0]),
    setPausedAll: record('setPausedAll'),
    patchSettings: record('patchSettings', { settings: status.settings, locked: status.locked }),
    history: record('history'),
    subscribe: () => () => {},
  } as ShoalClient
  return { client, calls }
}

function renderer(url = RENDERER) {
  const contents = new electron.FakeWebContents()
  contents.mainFrame.url = url
  return contents
}

describe('IPC router', () => {
  beforeEach(() => electron.resetFake())
  afterEach(() => electron.resetFake())

  it('registers exactly the contract channels', () => {
    const { client } = recordingClient(sampleStatus())
    const router = registerIpc({ client: () => client, rendererUrl: RENDERER })
    expect([...electron.ipcMain.handlers.keys()].sort()).toEqual([...Object.values(IPC_METHODS).map((m) => m.channel), IPC_SUBSCRIBE_CHANNEL].sort())
    router.dispose()
    expect(electron.ipcMain.handlers.size).toBe(0)
  })

  it('passes valid calls from our window to the engine and returns its answer', async () => {
    const status = sampleStatus()
    const { client, calls } = recordingClient(status)
    registerIpc({ client: () => client, rendererUrl: RENDERER })
    const win = renderer()
    expect(await electron.ipcMain.invoke(win, win.mainFrame, 'shoal:status')).toEqual(status)
    await electron.ipcMain.invoke(win, win.mainFrame, 'shoal:job-action', 'job-1', 'pause')
    await electron.ipcMain.invoke(win, win.mainFrame, 'shoal:patch-settings', { caps: { down: { global: 5_000_000 } } })
    expect(calls).toEqual([['status'], ['jobAction', 'job-1', 'pause'], ['patchSettings', { caps: { down: { global: 5_000_000 } } }]])
  })

  it('refuses calls from a subframe, a navigated page or a destroyed frame', async () => {
    const { client, calls } = recordingClient(sampleStatus())
    registerIpc({ client: () => client, rendererUrl: RENDERER })
    const win = renderer()
    await expect(electron.ipcMain.invoke(win, { url: RENDERER }, 'shoal:status')).rejects.toThrow(/not Shoal's window/)
    const navigated = renderer('https://evil.example/')
    await expect(electron.ipcMain.invoke(navigated, navigated.mainFrame, 'shoal:status')).rejects.toThrow(/not Shoal's window/)
    await expect(electron.ipcMain.invoke(win, null, 'shoal:status')).rejects.toThrow(/not Shoal's window/)
    expect(calls).toEqual([])
  })

  it('refuses arguments that do not match the contract', async () => {
    const { client, calls } = recordingClient(sampleStatus())
    registerIpc({ client: () => client, rendererUrl: RENDERER })
    const win = renderer()
    const bad: [string, ...unknown[]][] = [
      ['shoal:job-action', 'job-1', 'format-disk'],
      ['shoal:patch-settings', { caps: { down: { global: -1 } } }],
      ['shoal:patch-settings', { sharing: { mode: 'everyone' } }],
      ['shoal:patch-settings', { unknownKey: true }],
      ['shoal:set-paused-all', 'yes'],
      ['shoal:create-job', { productId: 'game', kind: 'install', extra: 1 }],
      ['shoal:status', 'unexpected'],
    ]
    for (const [channel, ...args] of bad) await expect(electron.ipcMain.invoke(win, win.mainFrame, channel, ...args)).rejects.toThrow(/invalid arguments/)
    expect(calls).toEqual([])
  })

  it('a subscriber gets a snapshot first, then broadcasts, until it unsubscribes or is destroyed', async () => {
    const status = sampleStatus()
    const { client } = recordingClient(status)
    const router = registerIpc({ client: () => client, rendererUrl: RENDERER })
    const win = renderer()
    await electron.ipcMain.invoke(win, win.mainFrame, IPC_SUBSCRIBE_CHANNEL, true)
    router.broadcast({ type: 'notice', level: 'info', message: 'hello', productId: null })
    expect(win.sent).toEqual([
      [IPC_EVENT_CHANNEL, { type: 'snapshot', status }],
      [IPC_EVENT_CHANNEL, { type: 'notice', level: 'info', message: 'hello', productId: null }],
    ])
    await electron.ipcMain.invoke(win, win.mainFrame, IPC_SUBSCRIBE_CHANNEL, false)
    router.broadcast({ type: 'notice', level: 'info', message: 'again', productId: null })
    expect(win.sent).toHaveLength(2)

    const other = renderer()
    await electron.ipcMain.invoke(other, other.mainFrame, IPC_SUBSCRIBE_CHANNEL, true)
    other.destroyed = true
    other.emit('destroyed')
    router.broadcast({ type: 'notice', level: 'info', message: 'gone', productId: null })
    expect(other.sent).toHaveLength(1)
  })
})
