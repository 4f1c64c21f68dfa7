// Opt-in (settings.reportOffload, off by default): after a job, tell the release's
// trackers how many bytes came from the CDN and from peers. Nothing else is sent.
import type { KeyObject } from 'node:crypto'
import { installPaths, type Refusals, type SourceBytes } from '../engine/engine.ts'
import { readInstalledRow } from '../store/installs-table.ts'
import type { StateDb } from '../store/state-db.ts'
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

/** Reports a finished job's bytes to the trackers of the release now installed in `installDir`. */
export async function reportJobOffload(db: StateDb, installDir: string, publicKey: KeyObject, token: string | undefined, bytes: SourceBytes, peerRefusals: Refusals): Promise<void> {
  const row = readInstalledRow(db, installPaths(installDir).install)
  if (!row) return
  const { decodeManifest } = await import('../release/manifest-codec.ts')
  const manifest = decodeManifest(row.manifest, publicKey, `installed manifest of ${installDir}`)
  await reportOffload(manifest.pack.announce, token, { infoHash: manifest.pack.infoHash, cdn: bytes.cdn, lan: bytes.lan, wan: bytes.wan, peerRefusals })
}
