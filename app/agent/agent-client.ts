// The CLI's side of the control API: finds the agent in the data dir, sends
// requests with its token, and checks every answer against the shared schemas.
import type { z } from 'zod'
import {
  apiErrorSchema,
  apiEventSchema,
  historySchema,
  jobSchema,
  productSchema,
  settingsViewSchema,
  statusSchema,
  type AddProductRequest,
  type ApiEvent,
  type CreateJobRequest,
  type History,
  type Job,
  type JobAction,
  type Product,
  type SettingsPatch,
  type SettingsView,
  type ShoalClient,
  type Status,
} from '../../shared/api-contract.ts'
import { ShoalError, type ErrorCode, ERROR_CODES } from '../../shared/errors.ts'
import { findAgent } from './agent-files.ts'

export class AgentClient implements ShoalClient {
  private readonly base: string
  private readonly token: string

  constructor(port: number, token: string) {
    this.base = `http://127.0.0.1:${port}`
    this.token = token
  }

  static forDataDir(dataDir: string): AgentClient {
    const { port, token } = findAgent(dataDir)
    return new AgentClient(port, token)
  }

  status(): Promise<Status> {
    return this.call('GET', '/api/status', undefined, statusSchema)
  }
  addProduct(request: AddProductRequest): Promise<Product> {
    return this.call('POST', '/api/products', request, productSchema)
  }
  async removeProduct(productId: string): Promise<void> {
    await this.call('DELETE', `/api/products/${encodeURIComponent(productId)}`, undefined, undefined)
  }
  checkProduct(productId: string): Promise<Product> {
    return this.call('POST', `/api/products/${encodeURIComponent(productId)}/check`, undefined, productSchema)
  }
  createJob(request: CreateJobRequest): Promise<Job> {
    return this.call('POST', '/api/jobs', request, jobSchema)
  }
  jobAction(jobId: string, action: JobAction): Promise<Job> {
    return this.call('POST', `/api/jobs/${encodeURIComponent(jobId)}/${action}`, undefined, jobSchema)
  }
  async setPausedAll(paused: boolean): Promise<void> {
    await this.call('POST', paused ? '/api/pause' : '/api/resume', {}, undefined)
  }
  patchSettings(patch: SettingsPatch): Promise<SettingsView> {
    return this.call('PATCH', '/api/settings', patch, settingsViewSchema)
  }
  settings(): Promise<SettingsView> {
    return this.call('GET', '/api/settings', undefined, settingsViewSchema)
  }
  history(): Promise<History> {
    return this.call('GET', '/api/history', undefined, historySchema)
  }

  subscribe(onEvent: (event: ApiEvent) => void): () => void {
    const ws = new WebSocket(`ws://127.0.0.1:${new URL(this.base).port}/api/events?token=${encodeURIComponent(this.token)}`)
    ws.addEventListener('message', (m: MessageEvent) => onEvent(apiEventSchema.parse(JSON.parse(String(m.data)))))
    return () => ws.close()
  }

  private async call<T extends z.ZodType>(method: string, path: string, body: unknown, schema: T | undefined): Promise<z.infer<T>> {
    let res: Response
    try {
      res = await fetch(this.base + path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      })
    } catch (err) {
      throw new ShoalError('E_AGENT', `cannot reach the agent at ${this.base}: ${(err as Error).message}`, 'is `shoal agent` running for this data dir?')
    }
    const text = await res.text()
    if (!res.ok) {
      const parsed = apiErrorSchema.safeParse(text ? JSON.parse(text) : {})
      const code = parsed.success && parsed.data.error.code in ERROR_CODES ? (parsed.data.error.code as ErrorCode) : 'E_AGENT'
      throw new ShoalError(code, parsed.success ? parsed.data.error.message : `the agent answered HTTP ${res.status}`)
    }
    return (schema ? schema.parse(JSON.parse(text)) : undefined) as z.infer<T>
  }
}
