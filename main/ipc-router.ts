// Routes the renderer's IPC calls to the engine's ShoalClient. Every call is checked twice:
// the sender must be our renderer's top frame, and the arguments must match the contract.
import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron'
import * as v from 'valibot'
import type { ApiEvent, ShoalClient } from '../shared/api-contract.ts'
import { IPC_EVENT_CHANNEL, IPC_METHODS, IPC_SUBSCRIBE_CHANNEL, type IpcMethod } from '../shared/ipc-contract.ts'
import { ShoalError } from '../shared/errors.ts'

export interface IpcRouterOptions {
  /** The engine's client; a getter because the engine may restart and hand out a new one. */
  readonly client: () => ShoalClient
  /** The renderer's file URL: any other frame (an iframe, a navigated page) is refused. */
  readonly rendererUrl: string
}

export function isTrustedSender(event: IpcMainInvokeEvent, rendererUrl: string): boolean {
  const frame = event.senderFrame
  return frame !== null && frame === event.sender.mainFrame && frame.url === rendererUrl
}

export interface IpcRouter {
  /** Forwards an engine event to every subscribed window. */
  broadcast(event: ApiEvent): void
  dispose(): void
}

export function registerIpc(options: IpcRouterOptions): IpcRouter {
  const subscribers = new Set<WebContents>()
  const channels: string[] = []

  const guard = (event: IpcMainInvokeEvent, channel: string): void => {
    if (!isTrustedSender(event, options.rendererUrl)) throw new ShoalError('E_USAGE', `IPC ${channel} refused: the sender is not Shoal's window`)
  }

  for (const [method, spec] of Object.entries(IPC_METHODS) as [IpcMethod, (typeof IPC_METHODS)[IpcMethod]][]) {
    channels.push(spec.channel)
    ipcMain.handle(spec.channel, async (event, ...raw: unknown[]) => {
      guard(event, spec.channel)
      const parsed = v.safeParse(spec.args, raw)
      if (!parsed.success) throw new ShoalError('E_USAGE', `IPC ${spec.channel}: invalid arguments: ${parsed.issues.map((i) => i.message).join('; ')}`)
      const client = options.client()
      const call = client[method] as (...args: unknown[]) => Promise<unknown>
      return await call.apply(client, parsed.output)
    })
  }

  channels.push(IPC_SUBSCRIBE_CHANNEL)
  ipcMain.handle(IPC_SUBSCRIBE_CHANNEL, async (event, on: unknown) => {
    guard(event, IPC_SUBSCRIBE_CHANNEL)
    if (typeof on !== 'boolean') throw new ShoalError('E_USAGE', `IPC ${IPC_SUBSCRIBE_CHANNEL}: expected a boolean`)
    const contents = event.sender
    if (!on) {
      subscribers.delete(contents)
      return
    }
    if (!subscribers.has(contents)) {
      subscribers.add(contents)
      contents.once('destroyed', () => subscribers.delete(contents))
    }
    // A fresh subscriber starts from a snapshot, as the contract promises.
    contents.send(IPC_EVENT_CHANNEL, { type: 'snapshot', status: await options.client().status() } satisfies ApiEvent)
  })

  return {
    broadcast(event) {
      for (const contents of subscribers) if (!contents.isDestroyed()) contents.send(IPC_EVENT_CHANNEL, event)
    },
    dispose() {
      for (const channel of channels) ipcMain.removeHandler(channel)
      subscribers.clear()
    },
  }
}
