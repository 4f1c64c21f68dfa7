// The only bridge between the sandboxed page and main: a fixed list of channels, no raw ipcRenderer.
// Bundled to CommonJS (sandboxed preloads cannot load ES modules or other files).
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNELS, type ShoalBridge } from '../shared/ipc-contract.ts'

const allowed = new Set(IPC_INVOKE_CHANNELS)

const bridge: ShoalBridge = {
  invoke(channel, ...args) {
    if (!allowed.has(channel)) return Promise.reject(new Error(`channel ${channel} is not allowed`))
    return ipcRenderer.invoke(channel, ...args) as Promise<unknown>
  },
  onEvent(listener) {
    const handler = (_event: IpcRendererEvent, payload: unknown) => listener(payload)
    ipcRenderer.on(IPC_EVENT_CHANNEL, handler)
    return () => {
      ipcRenderer.removeListener(IPC_EVENT_CHANNEL, handler)
    }
  },
}

contextBridge.exposeInMainWorld('shoalBridge', bridge)
