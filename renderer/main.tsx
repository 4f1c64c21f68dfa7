import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './app.tsx'
import { connectClient } from './agent-transport.ts'
import { ControllerContext } from './controller-context.ts'
import { createShoalController } from './shoal-store.ts'

const root = createRoot(document.getElementById('root')!)
const client = connectClient(window)
if (!client) {
  root.render(
    <main className="app">
      <h1>Shoal</h1>
      <p>Open the address that <code>shoal agent</code> printed: it carries the key this page needs to talk to the agent.</p>
    </main>,
  )
} else {
  const controller = createShoalController(client)
  root.render(
    <StrictMode>
      <ControllerContext.Provider value={controller}>
        <App />
      </ControllerContext.Provider>
    </StrictMode>,
  )
}
