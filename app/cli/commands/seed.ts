import { readFile } from 'node:fs/promises'
import { ShoalError } from '../../../shared/errors.ts'
import { formatBytes } from '../../../shared/units.ts'
import { loadSeeding, type PeerEncryption } from '../../engine/engine.ts'
import { openStateDb } from '../../store/state-db.ts'
import { loadPublicKey } from '../key-files.ts'
import { peakRssBytes } from '../peak-rss.ts'
import type { Output } from '../output.ts'

export interface SeedFlags {
  readonly dir: string
  readonly pubkey: string
  readonly tracker: string[]
  readonly trackerTokenFile: string | undefined
  readonly port: number
  readonly limitUp: number
  readonly maxPeers: number
  /** The address peers connect to; every interface when undefined. */
  readonly listen: string | undefined
  readonly site?: string | undefined
  /** LAN discovery on or off; undefined leaves it to the release's scope. */
  readonly lsd: boolean | undefined
  readonly peerEncryption: PeerEncryption
}

const REPORT_MS = 2000

/** Serves the installed release until SIGINT or SIGTERM. */
export async function seedCommand(out: Output, dataDir: string, flags: SeedFlags): Promise<void> {
  const { startSeeding } = await loadSeeding()
  const token = flags.trackerTokenFile ? (await readFile(flags.trackerTokenFile, 'utf8').catch(() => '')).trim() : undefined
  if (token === '') throw new ShoalError('E_USAGE', `--tracker-token-file ${flags.trackerTokenFile} is missing or empty`)
  const db = openStateDb(dataDir)
  try {
    const seeding = await startSeeding({ db, installDir: flags.dir, publicKey: await loadPublicKey(flags.pubkey), trackers: flags.tracker, trackerToken: token, port: flags.port, limitUp: flags.limitUp, maxPeers: flags.maxPeers, listenHost: flags.listen, lsd: flags.lsd, encryption: flags.peerEncryption, site: flags.site }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') throw new ShoalError('E_IO', `port ${flags.port} is in use`, 'choose another --port')
      throw err
    })
    // Listening for the stop signals before saying "seeding": a SIGTERM sent the moment that line
    // is read must not meet the default action (an exit by signal, without the `stopped` line).
    const stop = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    out.event('seeding', { product: seeding.product, version: seeding.version, infoHash: seeding.infoHash, port: seeding.port, pieces: seeding.pieces, pieceCount: seeding.pieceCount, lsd: seeding.lsd })
    out.info(`seeding ${seeding.product} ${seeding.version} (${seeding.pieces} of ${seeding.pieceCount} pieces) on port ${seeding.port}${seeding.lsd ? ', announced on the LAN' : ''}; stop with Ctrl-C`)
    const timer = setInterval(() => {
      out.event('stats', { uploaded: seeding.uploaded(), uploadedByClass: seeding.uploadedByClass(), peers: seeding.peers(), peakRssBytes: peakRssBytes() })
      if (!out.json) out.info(`  uploaded ${formatBytes(seeding.uploaded())} to ${seeding.peers()} peer(s)`)
    }, REPORT_MS)
    await stop
    clearInterval(timer)
    const uploaded = seeding.uploaded()
    await seeding.stop()
    // The peak covers the whole run, the reading threads included: memory bounds are checked on it.
    out.event('stopped', { uploaded, uploadedByClass: seeding.uploadedByClass(), peakRssBytes: peakRssBytes() })
  } finally {
    db.close()
  }
}
