// The agent's control API from Node (the CLI, Electron main): the shared client over Node's own
// fetch and WebSocket, found through the port and token files in the data dir.
import { createAgentClient } from '../../shared/agent-client.ts'
import type { ShoalClient } from '../../shared/api-contract.ts'
import { findAgent } from './agent-files.ts'

export function nodeAgentClient(baseUrl: string, token: string): ShoalClient {
  return createAgentClient({
    baseUrl,
    token,
    fetch: (url, init) => fetch(url, init),
    openSocket: (url) => new WebSocket(url),
    setTimer: (fn, ms) => setTimeout(fn, ms),
    clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
  })
}

/** The client of the agent that serves `dataDir`; E_AGENT when none runs there. */
export function agentClientFor(dataDir: string): ShoalClient {
  const { port, token } = findAgent(dataDir)
  return nodeAgentClient(`http://127.0.0.1:${port}`, token)
}
