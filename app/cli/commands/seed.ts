import { readFile } from 'node:fs/promises'
import { ShoalError } from '../../../shared/errors.ts'
import { formatBytes } from '../../../shared/units.ts'
import { addRefusals, installPaths, loadReleaseRecord, loadSeeding, type PeerEncryption, type Refusals, type Seeding } from '../../engine/engine.ts'
import { installedAt, readInstalledRow } from '../../store/installs-table.ts'
import { openStateDb } from '../../store/state-db.ts'
import { loadPrivateKey, loadPublicKey } from '../key-files.ts'
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
  /** The swarm's admission private key: this machine issues its own peer pass. */
  readonly admissionKey?: string | undefined
  /** How often the revocation list is fetched again, in ms. */
  readonly revocationCheck?: number | undefined
}

const REPORT_MS = 2000

/** Serves the installed release until SIGINT or SIGTERM. */
export async function seedCommand(out: Output, dataDir: string, flags: SeedFlags): Promise<void> {
  const { startSeeding } = await loadSeeding()
  const { adoptReleaseRecord } = await loadReleaseRecord()
  const token = flags.trackerTokenFile ? (await readFile(flags.trackerTokenFile, 'utf8').catch(() => '')).trim() : undefined
  if (token === '') throw new ShoalError('E_USAGE', `--tracker-token-file ${flags.trackerTokenFile} is missing or empty`)
  const db = openStateDb(dataDir)
  try {
    const publicKey = await loadPublicKey(flags.pubkey)
    const admissionKey = flags.admissionKey ? await loadPrivateKey(flags.admissionKey, '--admission-key') : undefined
    const installDir = installPaths(flags.dir).install
    const installed = () => readInstalledRow(db, installDir)
    const start = async (): Promise<{ seeding: Seeding; manifest: Buffer | undefined; installedAt: string | undefined }> => {
      const row = installed()
      const seeding = await startSeeding({ db, installDir: flags.dir, publicKey, trackers: flags.tracker, trackerToken: token, port: flags.port, limitUp: flags.limitUp, maxPeers: flags.maxPeers, listenHost: flags.listen, lsd: flags.lsd, encryption: flags.peerEncryption, admissionKey, revocationCheckMs: flags.revocationCheck, site: flags.site }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') throw new ShoalError('E_IO', `port ${flags.port} is in use`, 'choose another --port')
        throw err
      })
      out.event('seeding', { product: seeding.product, version: seeding.version, infoHash: seeding.infoHash, port: seeding.port, pieces: seeding.pieces, pieceCount: seeding.pieceCount, lsd: seeding.lsd })
      out.info(`seeding ${seeding.product} ${seeding.version} (${seeding.pieces} of ${seeding.pieceCount} pieces) on port ${seeding.port}${seeding.lsd ? ', announced on the LAN' : ''}; stop with Ctrl-C`)
      return { seeding, manifest: row?.manifest, installedAt: row?.installed_at }
    }
    // Listening for the stop signals before saying "seeding": a SIGTERM sent the moment that line
    // is read must not meet the default action (an exit by signal, without the `stopped` line).
    const stop = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    await adoptReleaseRecord(db, installDir, publicKey)
    let current = await start()
    const before = { uploaded: 0, lan: 0, wan: 0 }
    const refusedBefore: Refusals = {}
    const refusals = () => {
      const all = { ...refusedBefore }
      addRefusals(all, current.seeding.refusals())
      return all
    }
    const uploaded = () => before.uploaded + current.seeding.uploaded()
    const byClass = () => {
      const now = current.seeding.uploadedByClass()
      return { lan: before.lan + now.lan, wan: before.wan + now.wan }
    }
    // A `get` that switched in another version: until then, pieces come from the files the old
    // version verified (each read checked again when a file's identity changed), never from the new ones.
    let moving: Promise<void> | undefined
    const follow = async () => {
      // A switch made with another data dir (the agent's, root's) reaches this one through the record beside the install.
      await adoptReleaseRecord(db, installDir, publicKey)
      // The install time first: the manifest is megabytes for a large release, read only when it may have changed.
      const at = installedAt(db, installDir) ?? undefined
      if (at === current.installedAt) return
      const manifest = installed()?.manifest
      current.installedAt = at
      if (!manifest || (current.manifest && manifest.equals(current.manifest))) return
      Object.assign(before, { uploaded: uploaded(), ...byClass() })
      addRefusals(refusedBefore, current.seeding.refusals())
      await current.seeding.stop()
      current = await start()
    }
    let failed: (err: unknown) => void = () => undefined
    const failure = new Promise<never>((_, reject) => (failed = reject))
    const timer = setInterval(() => {
      out.event('stats', { uploaded: uploaded(), uploadedByClass: byClass(), peers: current.seeding.peers(), peerRefusals: refusals(), peakRssBytes: peakRssBytes() })
      if (!out.json) out.info(`  uploaded ${formatBytes(uploaded())} to ${current.seeding.peers()} peer(s)`)
      const broken = current.seeding.failure()
      if (broken) failed(broken)
      moving ??= follow().then(() => (moving = undefined), failed)
    }, REPORT_MS)
    try {
      await Promise.race([stop, failure])
    } finally {
      clearInterval(timer)
      await moving?.catch(() => undefined)
    }
    const total = uploaded()
    const refused = refusals()
    await current.seeding.stop()
    // The peak covers the whole run, the reading threads included: memory bounds are checked on it.
    out.event('stopped', { uploaded: total, uploadedByClass: byClass(), peerRefusals: refused, peakRssBytes: peakRssBytes() })
  } finally {
    db.close()
  }
}
