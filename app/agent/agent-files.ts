// How the CLI finds a running agent: the bearer token (created once, mode 600) and the
// endpoint file (port and pid), both in the data dir.
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as v from 'valibot'
import { ShoalError } from '../../shared/errors.ts'
import { int } from '../../shared/schema-rules.ts'

export const TOKEN_FILE = 'agent.token'
export const ENDPOINT_FILE = 'agent.json'

const endpointSchema = v.object({ port: int(1), pid: int(1), startedAt: v.string() })
export type AgentEndpoint = v.InferOutput<typeof endpointSchema>

/** The agent's token; the first start creates it, readable by this user only. */
export function ensureToken(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const path = join(dataDir, TOKEN_FILE)
  try {
    writeFileSync(path, randomBytes(32).toString('hex') + '\n', { flag: 'wx', mode: 0o600 })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  // A copied or restored data dir may have lost the mode: the token must stay private.
  chmodSync(path, 0o600)
  const token = readFileSync(path, 'utf8').trim()
  if (token.length < 32) throw new ShoalError('E_IO', `${path} does not hold a valid token`, 'delete it; the agent creates a new one on its next start')
  return token
}

export function writeEndpoint(dataDir: string, endpoint: AgentEndpoint): void {
  writeFileSync(join(dataDir, ENDPOINT_FILE), JSON.stringify(endpoint) + '\n', { mode: 0o600 })
}

export function removeEndpoint(dataDir: string): void {
  rmSync(join(dataDir, ENDPOINT_FILE), { force: true })
}

/** Port and token of the agent serving `dataDir`, or a clear error when none runs there. */
export function findAgent(dataDir: string): AgentEndpoint & { token: string } {
  const notRunning = (why: string) => new ShoalError('E_AGENT', `no shoal agent runs for data dir ${dataDir} (${why})`, `start one with: shoal agent --data-dir ${dataDir}`)
  let endpoint: AgentEndpoint
  try {
    endpoint = v.parse(endpointSchema, JSON.parse(readFileSync(join(dataDir, ENDPOINT_FILE), 'utf8')))
  } catch {
    throw notRunning(`${ENDPOINT_FILE} is missing or unreadable`)
  }
  try {
    process.kill(endpoint.pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') throw notRunning(`process ${endpoint.pid} is gone`)
  }
  let token: string
  try {
    token = readFileSync(join(dataDir, TOKEN_FILE), 'utf8').trim()
  } catch {
    throw notRunning(`${TOKEN_FILE} is unreadable`)
  }
  return { ...endpoint, token }
}
