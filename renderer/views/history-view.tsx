// Bytes peers carried instead of the CDN, per month, and the recent installs.
import { formatBytes } from '../../shared/units.ts'
import { useShoal } from '../controller-context.ts'
import { formatPercent } from '../display-format.ts'

export function HistoryView() {
  const history = useShoal((s) => s.history)
  const products = useShoal((s) => s.agent?.products ?? [])
  const months = history ? [...history.monthly].sort((a, b) => b.month.localeCompare(a.month)) : []
  const peak = Math.max(1, ...months.map((m) => m.saved + m.cdn))
  const totalSaved = months.reduce((n, m) => n + m.saved, 0)
  return (
    <section aria-labelledby="view-title">
      <h2 id="view-title" tabIndex={-1}>
        History
      </h2>
      {!history ? (
        <p>Loading…</p>
      ) : months.length === 0 ? (
        <p>No downloads yet.</p>
      ) : (
        <>
          <p className="headline" data-testid="total-saved">
            Peers saved {formatBytes(totalSaved)} of downloads from the publisher’s servers.
          </p>
          <table className="history">
            <caption>Bytes saved per month</caption>
            <thead>
              <tr>
                <th scope="col">Month</th>
                <th scope="col">Saved (from peers)</th>
                <th scope="col">From the CDN</th>
                <th scope="col">Uploaded to others</th>
                <th scope="col">Share from peers</th>
              </tr>
            </thead>
            <tbody>
              {months.map((m) => {
                const total = m.saved + m.cdn
                return (
                  <tr key={m.month}>
                    <th scope="row">{m.month}</th>
                    <td>{formatBytes(m.saved)}</td>
                    <td>{formatBytes(m.cdn)}</td>
                    <td>{formatBytes(m.uploaded)}</td>
                    <td>
                      <span className="bar" aria-hidden="true">
                        <span className="bar-saved" ref={(el) => el?.style.setProperty('width', `${(m.saved / peak) * 100}%`)} />
                        <span className="bar-cdn" ref={(el) => el?.style.setProperty('width', `${(m.cdn / peak) * 100}%`)} />
                      </span>
                      {formatPercent(total ? m.saved / total : 0)}
                    </td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </>
      )}
      {history && history.entries.length > 0 && (
        <table className="entries">
          <caption>Recent installs and updates</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Product</th>
              <th scope="col">Version</th>
              <th scope="col">CDN</th>
              <th scope="col">Peers</th>
              <th scope="col">Reused</th>
            </tr>
          </thead>
          <tbody>
            {history.entries.slice(0, 20).map((e) => (
              <tr key={e.id}>
                <td>{new Date(e.finishedAt).toLocaleString()}</td>
                <td>{products.find((p) => p.id === e.productId)?.name ?? e.productId}</td>
                <td>
                  {e.fromVersion ? `${e.fromVersion} → ` : ''}
                  {e.version}
                </td>
                <td>{formatBytes(e.bytes.cdn)}</td>
                <td>{formatBytes(e.bytes.lan + e.bytes.wan)}</td>
                <td>{formatBytes(e.bytes.local)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
