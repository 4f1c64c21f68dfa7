import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
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
