// The Electron IPC contract: one invoke channel per ShoalClient method, plus one event channel.
// Main validates every argument with these schemas; the preload only forwards allowlisted channels.
import { z } from 'zod'
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

const id = z.string().min(1).max(200)

/** Method name → channel, argument tuple and result schema (null: no result). */
export const IPC_METHODS = {
  status: { channel: 'shoal:status', args: z.tuple([]), result: statusSchema },
  addProduct: { channel: 'shoal:add-product', args: z.tuple([addProductRequestSchema]), result: productSchema },
  removeProduct: { channel: 'shoal:remove-product', args: z.tuple([id]), result: null },
  checkProduct: { channel: 'shoal:check-product', args: z.tuple([id]), result: productSchema },
  createJob: { channel: 'shoal:create-job', args: z.tuple([createJobRequestSchema]), result: jobSchema },
  jobAction: { channel: 'shoal:job-action', args: z.tuple([id, z.enum(JOB_ACTIONS)]), result: jobSchema },
  setPausedAll: { channel: 'shoal:set-paused-all', args: z.tuple([z.boolean()]), result: null },
  patchSettings: { channel: 'shoal:patch-settings', args: z.tuple([settingsPatchSchema]), result: settingsViewSchema },
  history: { channel: 'shoal:history', args: z.tuple([]), result: historySchema },
} as const satisfies Record<Exclude<keyof ShoalClient, 'subscribe'>, { channel: string; args: z.ZodType<unknown[]>; result: z.ZodType | null }>

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
    return spec.result ? spec.result.parse(result) : undefined
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
        const parsed = apiEventSchema.safeParse(raw)
        if (parsed.success) onEvent(parsed.data)
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
export const engineReadySchema = z.object({ type: z.literal('ready'), url: z.url(), token: z.string().min(16) })
export type EngineReady = z.infer<typeof engineReadySchema>
