// Seeds installed releases while the sharing policy allows it: consent and mode, power,
// the monthly upload cap, free disk, and the retention period after each install.
import { classifyPeer, DEFAULT_MAX_PEERS, loadSeeding, type Seeding } from '../engine/engine.ts'
import { localAddresses } from '../net/local-addresses.ts'
import type { LiveLimits } from '../policy/live-limits.ts'
import { monthOf, withinRetention, type SharingDecision } from '../policy/sharing.ts'
import type { StateDb } from '../store/state-db.ts'
import type { AgentStore, ProductRow } from './agent-store.ts'
import { publicKeyObject } from './publisher-key.ts'

interface Seeded {
  readonly seeding: Seeding
  readonly version: string
  counted: number
}

export interface SeedContext {
  readonly db: StateDb
  readonly store: AgentStore
  readonly limits: LiveLimits
  readonly trackerToken: string | undefined
  readonly lsd: boolean | undefined
  readonly now: () => Date
  /** The site or group id the settings (or the managed policy) give, told to the tracker. */
  readonly site: () => string | undefined
}

export class SeedManager {
  private readonly c: SeedContext
  private readonly seeds = new Map<string, Seeded>()
  private busy = Promise.resolve()

  constructor(c: SeedContext) {
    this.c = c
  }

  /** Product ids being seeded now. */
  seeding(): string[] {
    return [...this.seeds.keys()]
  }

  /** Starts and stops seeds to match the policy; `busy` lists products whose install a job is changing. */
  reconcile(products: readonly ProductRow[], sharing: SharingDecision, retentionDays: number, busy: ReadonlySet<string>): Promise<void> {
    this.busy = this.busy.then(() => this.apply(products, sharing, retentionDays, busy)).catch(() => undefined)
    return this.busy
  }

  async stopAll(): Promise<void> {
    await this.busy
    this.countUploads()
    await Promise.all([...this.seeds.values()].map((s) => s.seeding.stop()))
    this.seeds.clear()
  }

  private async apply(products: readonly ProductRow[], sharing: SharingDecision, retentionDays: number, busy: ReadonlySet<string>): Promise<void> {
    this.countUploads()
    const now = this.c.now()
    const wanted = new Map<string, ProductRow>()
    for (const p of products) {
      const installedAt = this.c.store.installedAt(p.installDir)
      if (sharing.upload && installedAt && !busy.has(p.id) && withinRetention(new Date(installedAt), now, retentionDays)) wanted.set(p.id, p)
    }
    for (const [id, s] of this.seeds) {
      const p = wanted.get(id)
      if (!p || this.c.store.installedVersion(p.installDir) !== s.version) {
        await s.seeding.stop()
        this.seeds.delete(id)
      }
    }
    for (const [id, p] of wanted) {
      if (this.seeds.has(id)) continue
      const local = localAddresses()
      const { startSeeding } = await loadSeeding()
      const seeding = await startSeeding({
        db: this.c.db,
        installDir: p.installDir,
        publicKey: publicKeyObject(p.publicKey),
        trackers: [],
        trackerToken: this.c.trackerToken,
        port: 0,
        limitUp: 0,
        maxPeers: DEFAULT_MAX_PEERS,
        site: this.c.site(),
        ...(this.c.lsd !== undefined ? { lsd: this.c.lsd } : {}),
        limits: this.c.limits,
        ...(sharing.wan ? {} : { acceptPeer: (address: string) => classifyPeer(address, local) === 'lan' }),
      })
      this.seeds.set(id, { seeding, version: seeding.version, counted: 0 })
    }
  }

  /** Adds what each seed uploaded since the last count to this month's total (for the monthly cap). */
  private countUploads(): void {
    for (const s of this.seeds.values()) {
      const total = s.seeding.uploaded()
      this.c.store.addUploaded(monthOf(this.c.now()), total - s.counted)
      s.counted = total
    }
  }
}
