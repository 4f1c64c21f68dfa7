// Opt-in (settings.reportOffload, off by default): after a job, tell the release's
// trackers how many bytes came from the CDN and from peers. Nothing else is sent.
import type { OffloadReport } from '../tracker/tracker-metrics.ts'

const TIMEOUT_MS = 5000

/** Posts the report to `/report` beside each announce URL; failures are ignored (it is telemetry). */
export async function reportOffload(announce: readonly string[], token: string | undefined, report: OffloadReport): Promise<number> {
  let sent = 0
  await Promise.all(
    announce.map(async (a) => {
      const url = new URL(a)
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return
      url.pathname = url.pathname.replace(/\/announce$/, '/report')
      url.search = token ? `?token=${encodeURIComponent(token)}` : ''
      const res = await fetch(url, { method: 'POST', body: JSON.stringify(report), signal: AbortSignal.timeout(TIMEOUT_MS) }).catch(() => undefined)
      if (res?.ok) sent++
    }),
  )
  return sent
}
