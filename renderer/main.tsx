import { createRoot } from 'react-dom/client'
import { formatBytes } from '../shared/units.ts'

// The desktop issue grows this into the library, download, bandwidth, sharing and history views.
function App() {
  return (
    <main>
      <h1>Shoal</h1>
      <p>Updates from the CDN and from peers; a 1 GiB release is {formatBytes(2 ** 30)}.</p>
    </main>
  )
}

createRoot(document.getElementById('root')!).render(<App />)
