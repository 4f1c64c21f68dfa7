import { beforeAll, describe, expect, it, vi } from 'vitest'
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNELS, type ShoalBridge } from '../../../shared/ipc-contract.ts'
import * as electron from './fake-electron.ts'

vi.mock('electron', () => import('./fake-electron.ts'))

describe('preload bridge', () => {
  let bridge: ShoalBridge
  beforeAll(async () => {
    electron.resetFake()
    await import('../../../main/preload.ts')
    bridge = electron.contextBridge.exposed.get('shoalBridge') as ShoalBridge
  })

  it('exposes only invoke and onEvent, never ipcRenderer itself', () => {
    expect([...electron.contextBridge.exposed.keys()]).toEqual(['shoalBridge'])
    expect(Object.keys(bridge).sort()).toEqual(['invoke', 'onEvent'])
  })

  it('forwards allowlisted channels and refuses every other one before it reaches main', async () => {
    expect(IPC_INVOKE_CHANNELS).toContain('shoal:status')
    await expect(bridge.invoke('shoal:status')).resolves.toEqual({ channel: 'shoal:status' })
    await expect(bridge.invoke('shoal:job-action', 'j', 'pause')).resolves.toEqual({ channel: 'shoal:job-action' })
    for (const channel of ['shoal:event', 'ELECTRON_BROWSER_WINDOW_ALERT', 'shoal:unknown', '']) await expect(bridge.invoke(channel)).rejects.toThrow(/not allowed/)
    expect(electron.ipcRenderer.invoked).toEqual([
      ['shoal:status', []],
      ['shoal:job-action', ['j', 'pause']],
    ])
  })

  it('delivers events to the page until it unsubscribes, without the IPC event object', () => {
    const got: unknown[] = []
    const off = bridge.onEvent((e) => got.push(e))
    electron.ipcRenderer.emit(IPC_EVENT_CHANNEL, { sender: 'secret' }, { type: 'notice' })
    off()
    electron.ipcRenderer.emit(IPC_EVENT_CHANNEL, { sender: 'secret' }, { type: 'late' })
    expect(got).toEqual([{ type: 'notice' }])
  })
})
