// Picks the transport: the Electron preload bridge when present, else the agent's HTTP API with
// the token handed over in the URL fragment (`#token=…`, never sent to any server).
import type { ShoalClient } from '../shared/api-contract.ts'
import { createAgentClient } from '../shared/agent-client.ts'
import { createBridgeClient, type ShoalBridge } from '../shared/ipc-contract.ts'

const TOKEN_KEY = 'shoal.agentToken'
const AGENT_KEY = 'shoal.agentUrl'

export function connectClient(win: Window & { shoalBridge?: ShoalBridge }): ShoalClient | null {
  if (win.shoalBridge) return createBridgeClient(win.shoalBridge)
  const params = new URLSearchParams(win.location.hash.slice(1))
  const fromHash = params.get('token')
  if (fromHash) {
    // Kept for reloads in this tab only, and taken out of the address bar and history.
    win.sessionStorage.setItem(TOKEN_KEY, fromHash)
    win.sessionStorage.setItem(AGENT_KEY, params.get('agent') ?? win.location.origin)
    win.history.replaceState(null, '', win.location.pathname + win.location.search)
  }
  const token = win.sessionStorage.getItem(TOKEN_KEY)
  if (!token) return null
  return createAgentClient({
    baseUrl: win.sessionStorage.getItem(AGENT_KEY) ?? win.location.origin,
    token,
    fetch: (url, init) => win.fetch(url, init),
    openSocket: (url) => new WebSocket(url),
    setTimer: (fn, ms) => win.setTimeout(fn, ms),
    clearTimer: (handle) => win.clearTimeout(handle as number),
  })
}
