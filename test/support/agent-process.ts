import { request } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import * as v from 'valibot'
import { statusSchema, type Job, type Status } from '../../shared/api-contract.ts'
import { startCli, type LongRunningCli } from './long-running-cli.ts'

export interface RunningAgent {
  readonly cli: LongRunningCli
  readonly port: number
  readonly token: string
  readonly base: string
  /** fetch against the agent with the bearer token and JSON body. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }>
}

/** `shoal agent` as its own process on a free port, with the policy file `policy` (absent by default). */
export async function startAgent(dataDir: string, policy: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunningAgent> {
  const cli = startCli(['agent', '--data-dir', dataDir, '--policy', policy, ...extra], env)
  const { port } = (await cli.waitFor('listening')) as { port: number }
  const token = (await readFile(join(dataDir, 'agent.token'), 'utf8')).trim()
  const base = `http://127.0.0.1:${port}`
  return {
    cli,
    port,
    token,
    base,
    api: async (method, path, body, headers = {}) => {
      const res = await fetch(base + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      })
      const text = await res.text()
      return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
    },
  }
}

export async function agentStatus(agent: RunningAgent): Promise<Status> {
  return v.parse(statusSchema, (await agent.api('GET', '/api/status')).json)
}

/** Polls the status until job `id` passes `test`; a failed job throws with its error. */
export async function waitForJob(agent: RunningAgent, id: string, test: (j: Job) => boolean, timeoutMs = 60_000): Promise<Job> {
  let job: Job | undefined
  for (const started = Date.now(); Date.now() - started < timeoutMs; await sleep(100)) {
    job = (await agentStatus(agent)).jobs.find((j) => j.id === id)
    if (job && test(job)) return job
    if (job?.state === 'failed') throw new Error(`job failed: ${job.error?.message}`)
  }
  throw new Error(`timed out waiting for the job; last seen: ${JSON.stringify(job)}`)
}

/** A raw request to the agent, so Host and the WebSocket upgrade headers can be anything: its HTTP status (101 once upgraded). */
export function rawStatus(port: number, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false })
    req.on('response', (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('upgrade', (res, socket) => {
      socket.destroy()
      resolve(res.statusCode ?? 101)
    })
    req.on('error', reject)
    req.end()
  })
}
