// Channel checks: each product's channel is resolved at a random point of every check interval
// and on request, and records what it offers; an automatic check queues a found update.
import type { KeyObject } from 'node:crypto'
import semverGt from 'semver/functions/gt.js'
import semverValid from 'semver/functions/valid.js'
import type { CreateJobRequest, Settings } from '../../shared/api-contract.ts'
import { nextCheckDelay } from '../policy/check-timer.ts'
import type { LocalRelease } from '../release/resolve.ts'
import { installedVersion, readInstalledRow } from '../store/installs-table.ts'
import { saveProduct, type ProductRow } from '../store/products-table.ts'
import type { StateDb } from '../store/state-db.ts'
import type { EventHub } from './event-hub.ts'
import { errorInfo } from './job-record.ts'
import { publicKeyObject } from './publisher-key.ts'

export interface CheckContext {
  readonly db: StateDb
  readonly hub: EventHub
  readonly now: () => Date
  readonly random: () => number
  readonly settings: () => Settings
  /** The product's row; throws when there is none. */
  readonly product: (id: string) => ProductRow
  /** The managed policy lists the product: its release is queued even where nothing is installed yet. */
  readonly managed: (id: string) => boolean
  readonly hasOpenJob: (productId: string) => boolean
  readonly createJob: (req: CreateJobRequest) => void
}

export class ProductChecks {
  private readonly c: CheckContext
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private stopped = false

  constructor(c: CheckContext) {
    this.c = c
  }

  /** The product's next automatic check: after `fractionOfInterval` of a minute, else at a random point of the interval. */
  plan(id: string, fractionOfInterval?: number): void {
    clearTimeout(this.timers.get(id))
    if (this.stopped) return
    const interval = this.c.settings().checkIntervalMinutes
    const delay = fractionOfInterval !== undefined ? fractionOfInterval * 60_000 : nextCheckDelay(interval, this.c.random())
    const timer = setTimeout(() => {
      void this.check(id, true)
        .catch(() => undefined)
        .finally(() => this.plan(id))
    }, delay)
    timer.unref()
    this.timers.set(id, timer)
  }

  cancel(id: string): void {
    clearTimeout(this.timers.get(id))
  }

  /** No check starts after this one; a check under way plans no next one. */
  stop(): void {
    this.stopped = true
    for (const t of this.timers.values()) clearTimeout(t)
  }

  /** Resolves the channel now and records what it offers; with `auto`, a found update is queued as the settings say. */
  async check(id: string, auto = false): Promise<ProductRow> {
    const { db, hub, now } = this.c
    const p = this.c.product(id)
    p.state = 'checking'
    saveProduct(db, p, now())
    hub.productsChanged()
    try {
      // The release code (manifest codec, torrent, bencode) loads with the first check, not at start.
      const { resolveRelease } = await import('../release/resolve.ts')
      const key = publicKeyObject(p.publicKey)
      const { manifest } = await resolveRelease(new URL(p.channelUrl), key, now(), await installedRelease(db, p.installDir, key))
      const installed = installedVersion(db, p.installDir)
      const newer = installed === null || (semverValid(installed) !== null && semverGt(manifest.version, installed))
      Object.assign(p, { availableVersion: newer ? manifest.version : null, state: newer ? (installed === null ? 'idle' : 'update-available') : 'up-to-date', error: null })
    } catch (err) {
      Object.assign(p, { state: 'error', error: errorInfo(err) })
    }
    p.lastCheckAt = now().toISOString()
    saveProduct(db, p, now())
    hub.productsChanged()
    const found = p.state as ProductRow['state']
    const wanted = p.availableVersion !== null && (found === 'update-available' || this.c.managed(id))
    if (auto && wanted && !this.c.hasOpenJob(id)) {
      const mode = this.c.settings().updateMode
      this.c.createJob({ productId: id, kind: found === 'update-available' ? 'update' : 'install', mode })
    }
    return p
  }
}

/**
 * The installed release's manifest, from which a check takes the manifest file when it is still
 * the channel's, a delta's base, and the objects it need not fetch again (they are matched by
 * SHA-256, so any verified manifest serves); none when the row does not verify.
 */
async function installedRelease(db: StateDb, installDir: string, key: KeyObject): Promise<LocalRelease | undefined> {
  const row = readInstalledRow(db, installDir)
  if (!row) return undefined
  const { decodeManifest } = await import('../release/manifest-codec.ts')
  try {
    return { manifest: decodeManifest(row.manifest, key), stored: row.manifest }
  } catch {
    return undefined
  }
}
