// Runs in Electron's utility process (started by engine-host.ts): the agent from app/ with its
// control API on a free loopback port, then one message to main with the URL and token. The
// endpoint file lets `shoal status --data-dir …` find this engine too.
import { getPriority, setPriority } from 'node:os'
import { parseArgs } from 'node:util'
import { Agent } from '../app/agent/agent.ts'
import { ensureToken, removeEndpoint, writeEndpoint } from '../app/agent/agent-files.ts'
import { startControlServer } from '../app/agent/control-server.ts'
import { defaultPolicyPath } from '../app/policy/managed-policy.ts'
import { openStateDb } from '../app/store/state-db.ts'
import type { EngineReady } from '../shared/ipc-contract.ts'

interface ParentPort {
  postMessage(message: unknown): void
}

const { values } = parseArgs({ options: { 'data-dir': { type: 'string' }, policy: { type: 'string' } } })
const dataDir = values['data-dir']
if (!dataDir) throw new Error('engine-entry needs --data-dir')

// Background work: 10 below the window, the tray and the user's games. Worker threads started
// later inherit it (on Windows this is the process's below-normal priority class).
setPriority(Math.min(19, getPriority() + 10))

const db = openStateDb(dataDir)
const token = ensureToken(dataDir)
const agent = new Agent({ dataDir, db, policyPath: values.policy ?? process.env['SHOAL_POLICY'] ?? defaultPolicyPath(process.platform, process.env) })
await agent.start()
const server = await startControlServer({ agent, token, port: 0 })
writeEndpoint(dataDir, { port: server.port, pid: process.pid, startedAt: agent.startedAt })

const stop = async (): Promise<void> => {
  removeEndpoint(dataDir)
  await server.close()
  await agent.stop()
  db.close()
  process.exit(0)
}
process.once('SIGTERM', () => void stop())
process.once('SIGINT', () => void stop())

const ready: EngineReady = { type: 'ready', url: `http://127.0.0.1:${server.port}`, token }
;(process as unknown as { parentPort: ParentPort }).parentPort.postMessage(ready)
