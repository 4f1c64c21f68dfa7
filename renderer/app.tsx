// The window: header with pause-all, one navigation, the current view and the notices.
import { useEffect, useRef } from 'react'
import { useController, useShoal } from './controller-context.ts'
import { VIEWS, type ViewName } from './shoal-store.ts'
import { BandwidthView } from './views/bandwidth-view.tsx'
import { DownloadView } from './views/download-view.tsx'
import { HistoryView } from './views/history-view.tsx'
import { LibraryView } from './views/library-view.tsx'
import { ConsentDialog, SharingView } from './views/sharing-view.tsx'

const VIEW_LABELS: Record<ViewName, string> = { library: 'Library', download: 'Download', bandwidth: 'Bandwidth', sharing: 'Sharing', history: 'History' }

function CurrentView({ view }: { view: ViewName }) {
  switch (view) {
    case 'library':
      return <LibraryView />
    case 'download':
      return <DownloadView />
    case 'bandwidth':
      return <BandwidthView />
    case 'sharing':
      return <SharingView />
    case 'history':
      return <HistoryView />
  }
}

function PauseAll() {
  const controller = useController()
  const paused = useShoal((s) => s.agent?.paused ?? false)
  return (
    <button className="secondary" onClick={() => void controller.run(paused ? 'Resume all' : 'Pause all', (c) => c.setPausedAll(!paused))}>
      {paused ? 'Resume all' : 'Pause all'}
    </button>
  )
}

function Notices() {
  const controller = useController()
  const notices = useShoal((s) => s.notices)
  return (
    <div className="notices" role="status" aria-live="polite">
      {notices.map((n) => (
        <p key={n.id} className={`notice notice-${n.level}`}>
          {n.message}{' '}
          <button className="link" onClick={() => controller.dismiss(n.id)} aria-label="Dismiss">
            ×
          </button>
        </p>
      ))}
    </div>
  )
}

export function App() {
  const controller = useController()
  const view = useShoal((s) => s.view)
  const connection = useShoal((s) => s.connection)
  const ready = useShoal((s) => s.agent !== null)
  const needsConsent = useShoal((s) => s.agent !== null && !s.agent.settings.sharing.consentGiven)
  const mainRef = useRef<HTMLElement>(null)
  const firstRender = useRef(true)

  useEffect(() => controller.start(), [controller])
  useEffect(() => {
    // Moving focus to the new view's heading tells keyboard and screen-reader users where they are.
    if (firstRender.current) firstRender.current = false
    else mainRef.current?.querySelector<HTMLElement>('#view-title')?.focus()
  }, [view])

  return (
    <>
    <div className="app" inert={needsConsent}>
      <header>
        <h1>Shoal</h1>
        <span className={`connection connection-${connection}`}>{connection === 'live' ? 'Connected' : connection === 'lost' ? 'Not connected' : 'Connecting…'}</span>
        {ready && <PauseAll />}
      </header>
      <nav aria-label="Views">
        <ul>
          {VIEWS.map((v) => (
            <li key={v}>
              <button aria-current={view === v ? 'page' : undefined} onClick={() => controller.show(v)}>
                {VIEW_LABELS[v]}
              </button>
            </li>
          ))}
        </ul>
      </nav>
      <main ref={mainRef}>{ready ? <CurrentView view={view} /> : <p>{connection === 'lost' ? 'Shoal’s background service is not reachable.' : 'Connecting to Shoal…'}</p>}</main>
      <Notices />
    </div>
    {needsConsent && <ConsentDialog />}
    </>
  )
}
