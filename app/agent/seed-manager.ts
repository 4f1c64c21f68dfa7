// Seeds installed releases while the sharing policy allows it: consent and mode, power,
// the monthly upload cap, free disk, and the retention period after each install.
import { addRefusals, classifyPeer, DEFAULT_MAX_PEERS, loadReleaseRecord, loadSeeding, type Refusals, type Seeding } from '../engine/engine.ts'
import { localAddresses } from '../net/local-addresses.ts'
import type { LiveLimits } from '../policy/live-limits.ts'
import { monthOf, withinRetention, type SharingDecision } from '../policy/sharing.ts'
import { installedAt, installedVersion } from '../store/installs-table.ts'
import type { ProductRow } from '../store/products-table.ts'
import type { StateDb } from '../store/state-db.ts'
import { addUploaded } from '../store/uploads-table.ts'
import type { KeyObject } from 'node:crypto'
import { publicKeyObject } from './publisher-key.ts'

interface Seeded {
  readonly seeding: Seeding
  readonly version: string
  counted: number
}

export interface SeedContext {
  readonly db: StateDb
  readonly limits: LiveLimits
  /** Read at each seed's start: the managed policy may change it. */
  readonly trackerToken: () => string | undefined
  /** The swarm admission private key, when this machine issues its own peer passes. */
  readonly admissionKey: KeyObject | undefined
  readonly lsd: boolean | undefined
  readonly now: () => Date
  /** The site or group id the settings (or the managed policy) give, told to the tracker. */
  readonly site: () => string | undefined
}

export class SeedManager {
  private readonly c: SeedContext
  private readonly seeds = new Map<string, Seeded>()
  /** Admission refusals of seeds already stopped. */
  private readonly pastRefusals: Refusals = {}
  /** Why a product the policy would seed is not seeded (no peer pass, a port in use…), by product id. */
  private readonly failures = new Map<string, string>()
  private busy = Promise.resolve()

  constructor(c: SeedContext) {
    this.c = c
  }

  /** Product ids being seeded now. */
  seeding(): string[] {
    return [...this.seeds.keys()]
  }

  /** Products the policy would seed that could not start, with the reason. */
  problems(): Record<string, string> {
    return Object.fromEntries(this.failures)
  }

  /** Peers refused admission by this agent's seeds since it started, by reason. */
  refusals(): Refusals {
    const all: Refusals = { ...this.pastRefusals }
    for (const s of this.seeds.values()) addRefusals(all, s.seeding.refusals())
    return all
  }

  /** Starts and stops seeds to match the policy; `busy` lists products whose install a job is changing. */
  reconcile(products: readonly ProductRow[], sharing: SharingDecision, retentionDays: number, busy: ReadonlySet<string>): Promise<void> {
    this.busy = this.busy.then(() => this.apply(products, sharing, retentionDays, busy)).catch(() => undefined)
    return this.busy
  }

  async stopAll(): Promise<void> {
    await this.busy
    this.countUploads()
    await Promise.all([...this.seeds.values()].map((s) => this.stop(s)))
    this.seeds.clear()
  }

  private async apply(products: readonly ProductRow[], sharing: SharingDecision, retentionDays: number, busy: ReadonlySet<string>): Promise<void> {
    this.countUploads()
    const now = this.c.now()
    const wanted = new Map<string, ProductRow>()
    // A switch the CLI (or another data dir) made reaches the agent through the record beside the install.
    if (products.length > 0) {
      const { adoptReleaseRecord } = await loadReleaseRecord()
      for (const p of products) await adoptReleaseRecord(this.c.db, p.installDir, publicKeyObject(p.publicKey))
    }
    for (const p of products) {
      const since = installedAt(this.c.db, p.installDir)
      if (sharing.upload && since && !busy.has(p.id) && withinRetention(new Date(since), now, retentionDays)) wanted.set(p.id, p)
    }
    for (const [id, s] of this.seeds) {
      const p = wanted.get(id)
      // A seed whose swarm could not start is reported, and started again below.
      const broken = s.seeding.failure()
      if (broken) this.failures.set(id, broken.message)
      if (!p || broken || installedVersion(this.c.db, p.installDir) !== s.version) {
        await this.stop(s)
        this.seeds.delete(id)
      }
    }
    for (const [id, p] of wanted) {
      if (this.seeds.has(id)) continue
      const local = localAddresses()
      const { startSeeding } = await loadSeeding()
      // One product that cannot seed (no peer pass for its swarm) must not keep the others from it.
      const seeding = await startSeeding({
        db: this.c.db,
        installDir: p.installDir,
        publicKey: publicKeyObject(p.publicKey),
        trackers: [],
        trackerToken: this.c.trackerToken(),
        admissionKey: this.c.admissionKey,
        port: 0,
        limitUp: 0,
        maxPeers: DEFAULT_MAX_PEERS,
        site: this.c.site(),
        ...(this.c.lsd !== undefined ? { lsd: this.c.lsd } : {}),
        limits: this.c.limits,
        ...(sharing.wan ? {} : { acceptPeer: (address: string) => classifyPeer(address, local) === 'lan' }),
      }).catch((err: unknown) => {
        this.failures.set(id, err instanceof Error ? err.message : String(err))
        return undefined
      })
      if (!seeding) continue
      this.failures.delete(id)
      this.seeds.set(id, { seeding, version: seeding.version, counted: 0 })
    }
  }

  private async stop(s: Seeded): Promise<void> {
    addRefusals(this.pastRefusals, s.seeding.refusals())
    await s.seeding.stop()
  }

  /** Adds what each seed uploaded since the last count to this month's total (for the monthly cap). */
  private countUploads(): void {
    for (const s of this.seeds.values()) {
      const total = s.seeding.uploaded()
      addUploaded(this.c.db, monthOf(this.c.now()), total - s.counted)
      s.counted = total
    }
  }
}
