// Builds the new version in the staging folder: unchanged files are hard-linked
// from the install once their chunks verify, reused chunks are copied from the
// install, and everything else comes from the CDN. Every chunk is verified before
// it is written; every assembled file is checked whole before the switch.
import { chmod, link, copyFile, mkdir, open, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Manifest } from '../../../shared/release-schema.ts'
import { ShoalError } from '../../../shared/errors.ts'
import type { WorkerPool } from '../../release/worker-pool.ts'
import type { CdnSource } from '../sources/cdn/cdn-source.ts'
import type { RangeOptions } from '../sources/cdn/range-planner.ts'
import { CdnRanges, type CdnWork } from '../sources/cdn/cdn-ranges.ts'
import { StoreLocations } from '../../release/store-locations.ts'
import { clearBit, hasBit, setBit } from './bitfield.ts'
import type { InstallPlan } from './install-plan.ts'
import { ChunkTargets } from './chunk-targets.ts'
import { applyStagedPatches, type PatchOutcome } from './patch-apply.ts'
import { createSized } from './sized-file.ts'
import { placeItems, type PlaceItem } from './place-items.ts'
import { FileChecks } from './file-checks.ts'
import { isOwnedFile } from './owned-file.ts'
import { EarlyWriteback } from './early-writeback.ts'
import type { PlacePieceResult, PlacePieceTask, PlaceResult, PlaceTask, PlacementResult, PlacementTask, VerifyFileResult } from './placement-tasks.ts'
import type { FilePosition } from '../storage/install-piece-store.ts'
import type { ChunkFromPeers } from '../sources/peers/peer-accounting.ts'

export type PlacedFrom = 'cdn' | 'local' | 'lan' | 'wan'

export interface SwarmHooks {
  /** Chunks completed by peers, split by peer class. */
  readonly onChunks: (chunks: ChunkFromPeers[]) => void
  /** Runs the CDN's range loops on the work the session hands out, until it hands out no more. */
  readonly runCdn: (work: CdnWork) => Promise<void>
  /** Checks a piece from peers against its SHA-1 in a worker and writes its slices; the buffer is handed over. */
  readonly placePiece: (piece: Buffer, sha1: Uint8Array, slices: readonly PlaceItem[]) => Promise<{ ok: boolean; returned: ArrayBuffer | undefined }>
  /** The placement workers, which also read pieces for upload. */
  readonly workers: WorkerPool<PlacementTask, PlacementResult>
  readonly isDone: (chunk: number) => boolean
}

/** Fetches pending chunks from peers into staging, with the CDN filling what peers cannot; `stagedAt` is one staged place of a chunk, for uploads. */
export type PeerFetch = (pending: ReadonlySet<number>, stagedAt: (chunk: number) => FilePosition | undefined, hooks: SwarmHooks) => Promise<void>

export interface StageContext {
  readonly manifest: Manifest
  readonly plan: InstallPlan
  readonly installDir: string
  readonly stagingDir: string
  /** Chunks already placed in every target; updated as work completes. */
  readonly done: Uint8Array
  readonly cdn: CdnSource
  readonly workers: WorkerPool<PlacementTask, PlacementResult>
  readonly ranges: RangeOptions
  /** Parallel CDN range requests. */
  readonly parallel: number
  /** Records a snapshot of `done`: written chunks, not necessarily fsynced yet (see CHECKPOINT_MS). */
  readonly persist: (done: Uint8Array) => void
  /** Bytes written to the new version, by source; every written byte is reported once. */
  readonly onPlaced: (from: PlacedFrom, bytes: number) => void
  /** Bytes received but not used: chunks another source placed first, chunks that failed verification. */
  readonly onWasted: (bytes: number) => void
  /** When set, peers are asked for the missing chunks before the CDN. */
  readonly peers?: PeerFetch
  /** Where the bytes of planned patch `k` (an index into the manifest's patches) are staged. */
  readonly patchPath: (k: number) => string
  /** A planned patch was applied, or failed and its file is built from chunks instead. */
  readonly onPatch: (outcome: PatchOutcome) => void
}

/**
 * Checkpoints persist the done bits at most once a second, without an fsync of the staged files
 * (fsyncing every 16 MiB cost 0.5 s per GiB here). Each checkpoint is a synchronous SQLite commit
 * on the main thread: every 16 MiB that held the event loop for 0.8 s per GiB under load, so the
 * clock alone decides. A kill -9 loses at most a second of work; after a power cut a bit may
 * outlive its bytes, and the whole-file SHA-256 check before commit finds that file and fetches
 * it again.
 */
const CHECKPOINT_MS = 1000
const LOCAL_BATCH_BYTES = 16 * 1024 * 1024
/** A staged file's written bytes go to disk in the background every this many placed bytes (see EarlyWriteback). */
const WRITEBACK_BYTES = 32 * 1024 * 1024

function asShoalError(err: unknown): unknown {
  const message = (err as Error)?.message ?? ''
  if (/ENOSPC/.test(message) || (err as NodeJS.ErrnoException)?.code === 'ENOSPC') {
    return new ShoalError('E_NO_SPACE', `the disk filled up while staging: ${message}`, 'free some space and run the same command again; verified chunks are kept')
  }
  return err
}

export class Stager {
  private readonly c: StageContext
  /** Every chunk's SHA-256, 32 bytes each, as the manifest lists them. */
  private readonly digests: Buffer
  private targets: ChunkTargets
  private readonly local: InstallPlan['local']
  /** Files built from chunks (not hard-linked): each gets a whole-file SHA-256 check. */
  private readonly assembled = new Set<number>()
  private readonly fileChecks: FileChecks
  private lastCheckpoint = Date.now()
  private readonly writeback = new EarlyWriteback((file) => this.stagedPath(file), WRITEBACK_BYTES)
  private readonly cdn: CdnRanges
  private readonly stagedPaths: string[] = []
  /** Planned patches not yet applied or given up; their staged bytes are files `fileCount + k` of the plan's lists. */
  private readonly pendingPatches: Set<number>
  private readonly fileCount: number

  constructor(c: StageContext) {
    this.c = c
    this.digests = Buffer.from(c.manifest.chunks.sha256, 'base64')
    this.targets = c.plan.targets
    this.local = new Map(c.plan.local)
    this.cdn = new CdnRanges({
      manifest: c.manifest,
      locations: new StoreLocations(c.manifest),
      cdn: c.cdn,
      workers: c.workers,
      ranges: c.ranges,
      parallel: c.parallel,
      placeTask: (bytes, chunks, at, stored) => this.placeTask({ bytes }, chunks, at, stored),
      placed: (chunks) => this.placed('cdn', chunks),
      onWasted: c.onWasted,
    })
    this.fileCount = c.plan.files.length
    this.pendingPatches = new Set(c.plan.patches.keys())
    this.fileChecks = new FileChecks({ manifest: c.manifest, digests: this.digests, done: c.done, workers: c.workers, stagedPath: (file) => this.stagedPath(file) })
  }

  async run(): Promise<void> {
    try {
      await this.prepareFiles()
      await this.linkUnchanged()
      await this.placeMissing()
      while (await this.applyPatches()) await this.placeMissing()
      // The last check before commit: each assembled file's SHA-256. A mismatch (a disk or
      // a bug, never the network: every chunk was verified) gets one more full attempt.
      for (let attempt = 0; ; attempt++) {
        const bad = await this.fileChecks.mismatched(this.assembled)
        if (bad.length === 0) break
        if (attempt === 1) throw new ShoalError('E_IO', `staged ${bad.map((i) => this.c.plan.files[i]!.path).join(', ')} does not match the manifest's SHA-256 twice in a row`, 'check the disk, then run the same command again')
        for (const i of bad) {
          for (const c of this.c.manifest.files[i]!.chunks) clearBit(this.c.done, c)
          this.fileChecks.forget(i)
        }
        await this.placeMissing()
      }
      await this.finish()
    } catch (err) {
      this.keepProgress()
      throw asShoalError(err)
    }
  }

  /** On failure, records what was verified so far so a rerun does not fetch it again. */
  private keepProgress(): void {
    try {
      this.c.persist(Uint8Array.from(this.c.done))
    } catch {
      // The state database may be on the full disk too; the last checkpoint then stands.
    }
  }

  private async placeMissing(): Promise<void> {
    let missing = await this.copyLocal()
    if (this.c.peers && missing.length > 0) {
      const stagedAt = (c: number): FilePosition | undefined => {
        let at: FilePosition | undefined
        this.targets.forEach(c, (file, offset) => (at ??= { path: this.stagedPath(file), offset }))
        return at
      }
      await this.c.peers(new Set(missing), stagedAt, {
        onChunks: (chunks) => this.placedFromPeers(chunks),
        runCdn: (work) => this.cdn.fetchFor(work),
        placePiece: (piece, sha1, slices) => this.placePiece(piece, sha1, slices),
        workers: this.c.workers,
        isDone: (chunk) => hasBit(this.c.done, chunk),
      })
      missing = missing.filter((c) => !hasBit(this.c.done, c))
    }
    await this.cdn.fetch(missing)
  }

  /** Joined once per file: a path per chunk and target held 30 MB of strings for a 1 GiB release. */
  private stagedPath(file: number): string {
    if (file >= this.fileCount) return (this.stagedPaths[file] ??= this.c.patchPath(this.c.plan.patches[file - this.fileCount]!.patch))
    return (this.stagedPaths[file] ??= join(this.c.stagingDir, this.c.plan.files[file]!.path))
  }

  /** Staged files that are assembled, and staged patches, exist at their final size from the start (sparse until filled). */
  private async prepareFiles(): Promise<void> {
    const patched = new Set(this.c.plan.patches.map((p) => p.file))
    for (const [i, f] of this.c.plan.files.entries()) {
      if (f.linkFrom !== undefined || patched.has(i)) continue
      await this.createAssembled(i)
    }
    for (const [k, p] of this.c.plan.patches.entries()) await createSized(this.stagedPath(this.fileCount + k), this.c.manifest.patches![p.patch]!.size)
  }

  private async createAssembled(i: number): Promise<void> {
    this.assembled.add(i)
    await createSized(this.stagedPath(i), this.c.plan.files[i]!.size)
  }

  /** The targets of every assembled file and every patch still pending. */
  private retarget(): void {
    const patches = [...this.pendingPatches].map((k) => this.fileCount + k)
    this.targets = new ChunkTargets(this.c.manifest, [...this.assembled, ...patches], this.c.plan.lists)
  }

  /**
   * Applies the staged patches (see patch-apply.ts). A file whose patch cannot build it is
   * assembled from chunks instead; true says there is more to place.
   */
  private async applyPatches(): Promise<boolean> {
    const patches = [...this.pendingPatches].map((k) => ({ planned: this.c.plan.patches[k]!, patchPath: this.stagedPath(this.fileCount + k) }))
    this.pendingPatches.clear()
    const failed = await applyStagedPatches(patches, { ...this.c, stagedPath: (file) => this.stagedPath(file) })
    for (const i of failed) await this.createAssembled(i)
    this.retarget()
    return failed.length > 0
  }

  /** Hard-links unchanged files after their chunks verify; a file that fails is assembled instead. */
  private async linkUnchanged(): Promise<void> {
    const { manifest, plan } = this.c
    let damaged = false
    for (const [i, f] of plan.files.entries()) {
      if (f.linkFrom === undefined) continue
      const from = join(this.c.installDir, f.linkFrom)
      const to = this.stagedPath(i)
      const chunks = manifest.files[i]!.chunks
      if (!(await isOwnedFile(this.c.installDir, f.linkFrom))) {
        // Reached through a link, or not a file: nothing of it is reused.
        await this.createAssembled(i)
        damaged = true
        for (const c of chunks) clearBit(this.c.done, c)
        continue
      }
      const [a, b] = await Promise.all([stat(from).catch(() => undefined), stat(to).catch(() => undefined)])
      if (a && b && a.ino === b.ino && a.dev === b.dev) {
        this.c.onPlaced('local', f.size)
        continue
      }
      const check = { kind: 'verifyFile', path: from, sizes: chunks.map((c) => manifest.chunks.size[c]!), sha256s: chunks.map((c) => this.digests.toString('hex', c * 32, c * 32 + 32)), fileSha256: manifest.files[i]!.sha256 } as const
      const { bad, fileOk } = (await this.c.workers.run(check)) as VerifyFileResult
      if (fileOk) {
        await mkdir(dirname(to), { recursive: true })
        await rm(to, { force: true })
        await link(from, to).catch(() => copyFile(from, to))
        this.c.onPlaced('local', f.size)
        continue
      }
      // Damaged install file: assemble it, reusing its good chunks and fetching the rest.
      await this.createAssembled(i)
      damaged = true
      let offset = 0
      const good = new Set(chunks.filter((_, k) => !bad.includes(k)))
      for (const c of chunks) {
        clearBit(this.c.done, c)
        if (good.has(c) && !this.local.has(c)) this.local.set(c, { path: f.path, offset })
        offset += manifest.chunks.size[c]!
      }
    }
    if (damaged) this.retarget()
  }

  /** A place task for `chunks` in its compact form (see PlaceTask). */
  private placeTask(source: PlaceTask['source'], chunks: readonly number[], at: (c: number) => number, stored: (c: number) => number): PlaceTask {
    const size = this.c.manifest.chunks.size
    const placed = placeItems(chunks.map((c) => ({ chunk: c, at: at(c), stored: stored(c), size: size[c]!, shift: 0 })), this.targets, (file) => this.stagedPath(file))
    const sha256 = new Uint8Array(chunks.length * 32)
    chunks.forEach((c, i) => this.digests.copy(sha256, i * 32, c * 32, c * 32 + 32))
    return { kind: 'place', source, ...placed, sha256 }
  }

  /** Copies reused chunks out of the installed files; returns the chunks still to fetch. */
  private async copyLocal(): Promise<number[]> {
    const local = this.local
    const pending = Array.from(this.targets.chunks).filter((c) => !hasBit(this.c.done, c))
    const bySource = new Map<string, number[]>()
    const fromCdn: number[] = []
    for (const c of pending) {
      const copy = local.get(c)
      const list = copy && bySource.get(copy.path)
      if (!copy) fromCdn.push(c)
      else if (list) list.push(c)
      else bySource.set(copy.path, [c])
    }
    const jobs: Promise<void>[] = []
    for (const [path, chunks] of bySource) {
      if (!(await isOwnedFile(this.c.installDir, path))) {
        fromCdn.push(...chunks)
        continue
      }
      chunks.sort((a, b) => local.get(a)!.offset - local.get(b)!.offset)
      for (let start = 0; start < chunks.length; ) {
        let end = start
        let bytes = 0
        while (end < chunks.length && (end === start || bytes < LOCAL_BATCH_BYTES)) bytes += this.c.manifest.chunks.size[chunks[end++]!]!
        const batch = chunks.slice(start, end)
        const task = this.placeTask({ path: join(this.c.installDir, path) }, batch, (c) => local.get(c)!.offset, (c) => this.c.manifest.chunks.size[c]!)
        jobs.push(
          (this.c.workers.run(task) as Promise<PlaceResult>).then((r) => {
            const bad = new Set(r.bad.map((k) => batch[k]!))
            for (const c of batch) if (bad.has(c)) fromCdn.push(c)
            this.placed('local', batch.filter((c) => !bad.has(c)))
          }),
        )
        start = end
      }
    }
    await Promise.all(jobs)
    return fromCdn
  }

  /** A piece from peers: SHA-1 checked and its slices written in a worker (the bytes move there, not copied). */
  private async placePiece(piece: Buffer, sha1: Uint8Array, slices: readonly PlaceItem[]): Promise<{ ok: boolean; returned: ArrayBuffer | undefined }> {
    const { paths, items, targets } = placeItems(slices, this.targets, (file) => this.stagedPath(file))
    const bytes = new Uint8Array(piece.buffer, piece.byteOffset, piece.length)
    const task: PlacePieceTask = { kind: 'placePiece', bytes, sha1, paths, items, targets }
    const r = (await this.c.workers.run(task, [bytes.buffer as ArrayBuffer])) as PlacePieceResult
    return { ok: r.ok, returned: r.returned }
  }

  /** Bytes a chunk occupies in the new version: once per place it appears. */
  private footprint(chunk: number): number {
    return this.c.manifest.chunks.size[chunk]! * this.targets.count(chunk)
  }

  private placedFromPeers(chunks: readonly ChunkFromPeers[]): void {
    const fresh = chunks.filter((p) => !hasBit(this.c.done, p.chunk))
    this.c.onWasted(chunks.filter((p) => hasBit(this.c.done, p.chunk)).reduce((n, p) => n + p.lan + p.wan, 0))
    const copies = (p: ChunkFromPeers) => this.targets.count(p.chunk)
    this.c.onPlaced('lan', fresh.reduce((n, p) => n + p.lan * copies(p), 0))
    this.c.onPlaced('wan', fresh.reduce((n, p) => n + p.wan * copies(p), 0))
    this.markPlaced(fresh.map((p) => p.chunk), false)
  }

  /** Counts chunks a source placed; a chunk another source placed first is waste, not counted twice. */
  private placed(from: PlacedFrom, chunks: readonly number[]): void {
    const fresh = chunks.filter((c) => !hasBit(this.c.done, c))
    this.c.onWasted(chunks.filter((c) => hasBit(this.c.done, c)).reduce((n, c) => n + this.c.manifest.chunks.size[c]!, 0))
    this.c.onPlaced(from, fresh.reduce((n, c) => n + this.footprint(c), 0))
    this.markPlaced(fresh, true)
  }

  /** `sha256Checked`: the chunks' own SHA-256 was verified before they were written (not so for peers' pieces, checked by SHA-1). */
  private markPlaced(chunks: readonly number[], sha256Checked: boolean): void {
    const files = new Set<number>()
    for (const c of chunks) {
      setBit(this.c.done, c)
      const size = this.c.manifest.chunks.size[c]!
      this.targets.forEach(c, (file) => {
        files.add(file)
        this.writeback.placed(file, size)
      })
    }
    for (const i of files) if (i < this.fileCount) this.fileChecks.placed(i, sha256Checked)
    if (Date.now() - this.lastCheckpoint >= CHECKPOINT_MS) {
      this.lastCheckpoint = Date.now()
      this.c.persist(Uint8Array.from(this.c.done))
    }
  }

  private async syncFiles(files: readonly string[]): Promise<void> {
    for (const path of files) {
      const handle = await open(path, 'r')
      await handle.sync().finally(() => handle.close())
    }
  }

  /** Modes, then the one fsync that matters: every staged file and folder before the switch. */
  private async finish(): Promise<void> {
    for (const [i, f] of this.c.plan.files.entries()) await chmod(this.stagedPath(i), f.mode)
    const files = this.c.plan.files.map((_, i) => this.stagedPath(i))
    await this.writeback.settle()
    await this.syncFiles(files)
    this.c.persist(Uint8Array.from(this.c.done))
    const dirs = new Set(files.map((f) => dirname(f)))
    dirs.add(this.c.stagingDir)
    for (const dir of dirs) {
      const handle = await open(dir, 'r')
      await handle.sync().finally(() => handle.close())
    }
  }
}
