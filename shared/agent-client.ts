// ShoalClient over the agent's local HTTP + WebSocket API. Runs in a browser (the renderer) and
// in Node (Electron main); the caller passes fetch and WebSocket so this module needs no DOM types.
import * as v from 'valibot'
import {
  apiErrorSchema,
  apiEventSchema,
  historySchema,
  jobSchema,
  productSchema,
  settingsViewSchema,
  statusSchema,
  type ApiEvent,
  type ShoalClient,
} from './api-contract.ts'
import { ERROR_CODES, ShoalError, type ErrorCode } from './errors.ts'

export interface FetchResponseLike {
  readonly ok: boolean
  readonly status: number
  text(): Promise<string>
}
export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<FetchResponseLike>

export interface WebSocketLike {
  addEventListener(type: string, listener: (event: { data?: unknown }) => void): void
  close(): void
}
export type WebSocketFactory = (url: string) => WebSocketLike

export interface AgentClientOptions {
  /** e.g. "http://127.0.0.1:7341" */
  readonly baseUrl: string
  readonly token: string
  readonly fetch: FetchLike
  readonly openSocket: WebSocketFactory
  /** Delay before the event socket reconnects after it closed. */
  readonly reconnectMs?: number
  readonly setTimer: (fn: () => void, ms: number) => unknown
  readonly clearTimer: (handle: unknown) => void
}

function errorCode(code: string): ErrorCode {
  return code in ERROR_CODES ? (code as ErrorCode) : 'E_INTERNAL'
}

export function createAgentClient(options: AgentClientOptions): ShoalClient {
  const base = options.baseUrl.replace(/\/+$/, '')

  async function call<T>(method: string, path: string, schema: v.GenericSchema<unknown, T> | null, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${options.token}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    let res: FetchResponseLike
    try {
      res = await options.fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })
    } catch (err) {
      throw new ShoalError('E_AGENT', `the Shoal agent at ${base} cannot be reached: ${(err as Error).message}`, 'start it with `shoal agent`')
    }
    const text = await res.text()
    const json: unknown = text ? JSON.parse(text) : undefined
    if (!res.ok) {
      const parsed = v.safeParse(apiErrorSchema, json)
      if (parsed.success) throw new ShoalError(errorCode(parsed.output.error.code), parsed.output.error.message)
      throw new ShoalError('E_INTERNAL', `the agent answered ${method} ${path} with HTTP ${res.status}`)
    }
    return schema ? v.parse(schema, json) : (undefined as T)
  }

  const id = encodeURIComponent
  return {
    status: () => call('GET', '/api/status', statusSchema),
    addProduct: (request) => call('POST', '/api/products', productSchema, request),
    removeProduct: (productId) => call('DELETE', `/api/products/${id(productId)}`, null),
    checkProduct: (productId) => call('POST', `/api/products/${id(productId)}/check`, productSchema, {}),
    createJob: (request) => call('POST', '/api/jobs', jobSchema, request),
    jobAction: (jobId, action) => call('POST', `/api/jobs/${id(jobId)}/${action}`, jobSchema, {}),
    setPausedAll: (paused) => call('POST', paused ? '/api/pause' : '/api/resume', null, {}),
    patchSettings: (patch) => call('PATCH', '/api/settings', settingsViewSchema, patch),
    history: () => call('GET', '/api/history', historySchema),
    subscribe(onEvent: (event: ApiEvent) => void): () => void {
      const url = `${base.replace(/^http/, 'ws')}/api/events?token=${id(options.token)}`
      let socket: WebSocketLike | null = null
      let timer: unknown = null
      let stopped = false
      const open = (): void => {
        const ws = options.openSocket(url)
        socket = ws
        ws.addEventListener('message', (event) => {
          if (typeof event.data !== 'string') return
          const parsed = v.safeParse(apiEventSchema, JSON.parse(event.data))
          if (parsed.success) onEvent(parsed.output)
        })
        ws.addEventListener('close', () => {
          if (stopped || socket !== ws) return
          // The agent may restart (update, crash): keep trying; its first message is a fresh snapshot.
          timer = options.setTimer(open, options.reconnectMs ?? 1000)
        })
      }
      open()
      return () => {
        stopped = true
        if (timer !== null) options.clearTimer(timer)
        socket?.close()
      }
    },
  }
}
