// The Electron IPC contract: one invoke channel per ShoalClient method, plus one event channel.
// Main validates every argument with these schemas; the preload only forwards allowlisted channels.
import * as v from 'valibot'
import {
  addProductRequestSchema,
  apiEventSchema,
  createJobRequestSchema,
  historySchema,
  JOB_ACTIONS,
  jobSchema,
  productSchema,
  settingsPatchSchema,
  settingsViewSchema,
  statusSchema,
  type ApiEvent,
  type ShoalClient,
} from './api-contract.ts'
import { url } from './schema-rules.ts'

const id = v.pipe(v.string(), v.minLength(1), v.maxLength(200))

/** Method name → channel, argument tuple and result schema (null: no result). */
export const IPC_METHODS = {
  status: { channel: 'shoal:status', args: v.strictTuple([]), result: statusSchema },
  addProduct: { channel: 'shoal:add-product', args: v.strictTuple([addProductRequestSchema]), result: productSchema },
  removeProduct: { channel: 'shoal:remove-product', args: v.strictTuple([id]), result: null },
  checkProduct: { channel: 'shoal:check-product', args: v.strictTuple([id]), result: productSchema },
  createJob: { channel: 'shoal:create-job', args: v.strictTuple([createJobRequestSchema]), result: jobSchema },
  jobAction: { channel: 'shoal:job-action', args: v.strictTuple([id, v.picklist(JOB_ACTIONS)]), result: jobSchema },
  setPausedAll: { channel: 'shoal:set-paused-all', args: v.strictTuple([v.boolean()]), result: null },
  patchSettings: { channel: 'shoal:patch-settings', args: v.strictTuple([settingsPatchSchema]), result: settingsViewSchema },
  history: { channel: 'shoal:history', args: v.strictTuple([]), result: historySchema },
} as const satisfies Record<Exclude<keyof ShoalClient, 'subscribe'>, { channel: string; args: v.GenericSchema<unknown, unknown[]>; result: v.GenericSchema | null }>

export type IpcMethod = keyof typeof IPC_METHODS

/** Main → renderer: every ApiEvent, starting with a snapshot when the renderer subscribes. */
export const IPC_EVENT_CHANNEL = 'shoal:event'
/** Renderer → main: start (true) or stop (false) forwarding events to this window. */
export const IPC_SUBSCRIBE_CHANNEL = 'shoal:subscribe'

/** Every channel the preload may invoke; anything else is refused before it reaches main. */
export const IPC_INVOKE_CHANNELS: readonly string[] = [...Object.values(IPC_METHODS).map((m) => m.channel), IPC_SUBSCRIBE_CHANNEL]

/** What the preload exposes to the page as `window.shoalBridge`. */
export interface ShoalBridge {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>
  onEvent(listener: (event: unknown) => void): () => void
}

/** ShoalClient over the preload bridge (the Electron transport). */
export function createBridgeClient(bridge: ShoalBridge): ShoalClient {
  const call = async (method: IpcMethod, ...args: unknown[]): Promise<unknown> => {
    const spec = IPC_METHODS[method]
    const result = await bridge.invoke(spec.channel, ...args)
    return spec.result ? v.parse(spec.result, result) : undefined
  }
  return {
    status: () => call('status') as ReturnType<ShoalClient['status']>,
    addProduct: (request) => call('addProduct', request) as ReturnType<ShoalClient['addProduct']>,
    removeProduct: (productId) => call('removeProduct', productId) as Promise<void>,
    checkProduct: (productId) => call('checkProduct', productId) as ReturnType<ShoalClient['checkProduct']>,
    createJob: (request) => call('createJob', request) as ReturnType<ShoalClient['createJob']>,
    jobAction: (jobId, action) => call('jobAction', jobId, action) as ReturnType<ShoalClient['jobAction']>,
    setPausedAll: (paused) => call('setPausedAll', paused) as Promise<void>,
    patchSettings: (patch) => call('patchSettings', patch) as ReturnType<ShoalClient['patchSettings']>,
    history: () => call('history') as ReturnType<ShoalClient['history']>,
    subscribe(onEvent: (event: ApiEvent) => void): () => void {
      const off = bridge.onEvent((raw) => {
        const parsed = v.safeParse(apiEventSchema, raw)
        if (parsed.success) onEvent(parsed.output)
      })
      void bridge.invoke(IPC_SUBSCRIBE_CHANNEL, true)
      return () => {
        off()
        void bridge.invoke(IPC_SUBSCRIBE_CHANNEL, false)
      }
    },
  }
}

/** The engine's utility process tells main where its API listens, once it is ready. */
export const engineReadySchema = v.object({ type: v.literal('ready'), url: url(), token: v.pipe(v.string(), v.minLength(16)) })
export type EngineReady = v.InferOutput<typeof engineReadySchema>
