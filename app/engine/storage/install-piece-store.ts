// An abstract-chunk-store for webtorrent that maps pack pieces onto release files, so
// the pack never exists as a second copy. Pieces for upload are read back from the release
// files in a worker, each checked against its SHA-1 before it may leave (see PieceReader); a
// leecher's pieces reach the files through the placement workers, not through this store.
import { join } from 'node:path'
import type { Manifest } from '../../../shared/release-schema.ts'
import type { WorkerPool } from '../../release/worker-pool.ts'
import type { PlacementResult, PlacementTask, ReadPieceResult } from '../install/placement-tasks.ts'
import { pieceIdentity } from './file-identity.ts'
import { packGeometry, pieceSha1, type PackGeometry } from './pack-geometry.ts'
import { allBack, lend, onAllBack } from './upload-loans.ts'

export interface FilePosition {
  readonly path: string
  readonly offset: number
}

export interface PieceStoreLayout {
  readonly geometry: PackGeometry
  /** 20-byte SHA-1 per piece. */
  readonly pieceHashes: Uint8Array
  /** One place each chunk can be read from; undefined for chunks this release does not use. */
  readonly readFrom: (chunk: number) => FilePosition | undefined
}

/** A file of raw chunks besides the release's own files: a kept patch (see patchBlobPath). */
export interface ChunkFile {
  readonly path: string
  readonly chunks: readonly number[]
}

/** The layout of a release rooted at `root` (an install or a staging folder), plus `extra` files of its chunks. */
export function pieceStoreLayout(m: Manifest, root: string, extra: readonly ChunkFile[] = []): PieceStoreLayout {
  const readFrom: (FilePosition | undefined)[] = m.chunks.size.map(() => undefined)
  for (const f of [...m.files.map((f) => ({ path: join(root, f.path), chunks: f.chunks })), ...extra]) {
    const path = f.path
    let offset = 0
    for (const c of f.chunks) {
      readFrom[c] ??= { path, offset }
      offset += m.chunks.size[c]!
    }
  }
  return { geometry: packGeometry(m), pieceHashes: Buffer.from(m.pack.pieces, 'base64'), readFrom: (c) => readFrom[c] }
}

/** A BitTorrent bitfield (most significant bit first, as webtorrent's `bitfield` option takes it). */
export function torrentBitfield(pieces: Iterable<number>, count: number): Uint8Array {
  const bits = new Uint8Array(Math.ceil(count / 8))
  for (const p of pieces) bits[p >> 3]! |= 0x80 >> (p & 7)
  return bits
}

/** Pieces whose verification is remembered: a few bytes each, whatever the number of peers. */
const VERIFIED_MAX = 65_536
/** Pieces kept in memory for the blocks peers ask next: the same few buffers, reused. */
const CACHED_PIECES = 6
/** Pieces being read at once; more wait. The reads share one worker, so more would only hold more buffers. */
const READS_AT_ONCE = 2
/**
 * Pieces out of the cache whose blocks still wait in sockets' queues. Beyond these, blocks are
 * copied: a slow peer holding one block would otherwise hold a whole piece.
 */
const LENT_PIECES = 4
/**
 * Copies go into buffers of the largest block (webtorrent's limit), kept for reuse once a socket
 * has written them: 16 MiB, what the wires may hold queued together (boundWireUploads). A fresh
 * buffer per copy was garbage the collector reached late: a seeder capped at 32 MiB/s copied
 * 824 MiB of the 1.5 GiB it sent and peaked at 286 MiB, its array buffers at up to 134 MiB.
 */
const COPY_BYTES = 128 * 1024
const COPY_BUFFERS = 128
/** Piece layouts kept for the blocks read one at a time: a few KiB each (a 4 MiB piece of 16 KiB chunks, 256 segments). */
const LAYOUTS_KEPT = 64

interface PieceLayout {
  readonly paths: string[]
  readonly segments: Float64Array
  readonly length: number
}

/**
 * Reads pieces for upload in a worker and serves blocks from a few cached pieces. A piece is
 * checked against its SHA-1 the first time, and again whenever a file it reads has changed
 * identity (device, inode, size, mtime) since it last verified; the identities of verified
 * pieces are kept in a bounded map, and a verified piece out of the cache is read a block at a
 * time. A piece whose files all keep the identity the install recorded after checking them
 * (`trusted`) counts as verified from the start: a seeder then reads the release once, not
 * hashes it again; so does a piece this process placed (`placed`). Memory is CACHED_PIECES +
 * READS_AT_ONCE + LENT_PIECES pieces and COPY_BUFFERS blocks, whatever the number of peers (50
 * peers on different pieces held 200 MB of reads before the bound). Blocks are lent as views of a cached piece (upload-loans.ts), and a piece's buffer
 * goes back to the worker for the next read once its lent bytes are written (fresh buffers per
 * read cost more in page faults than copies: 3.4 s of system time per GiB uploaded).
 */
export class PieceReader {
  private readonly layout: PieceStoreLayout
  private readonly workers: WorkerPool<PlacementTask, PlacementResult>
  private readonly verified = new Map<number, string>()
  /** Least recently used first. */
  private readonly cached = new Map<number, Buffer>()
  private readonly reading = new Map<number, Promise<Buffer>>()
  private readonly spare: ArrayBuffer[] = []
  /** Copy buffers written and free again (see COPY_BYTES). */
  private readonly copies: ArrayBuffer[] = []
  /** Pieces out of the cache with lent bytes still out. */
  private lentOut = 0
  /** A lent piece whose last view was dropped unwritten (its wire closed) is out no more. */
  private readonly lentDropped = new FinalizationRegistry<undefined>(() => this.lentOut--)
  private reads = 0
  private readonly waiting: (() => void)[] = []
  /** Least recently used first. */
  private readonly layouts = new Map<number, PieceLayout>()

  /** Files whose identity an install recorded once it had checked them (verified-files-table.ts): absolute path → identity. */
  private readonly trusted: ReadonlyMap<string, string>
  /** Pieces this process wrote whole from bytes it had checked (see placed). */
  private readonly placedHere = new Set<number>()

  constructor(layout: PieceStoreLayout, workers: WorkerPool<PlacementTask, PlacementResult>, trusted: ReadonlyMap<string, string> = new Map()) {
    this.layout = layout
    this.workers = workers
    this.trusted = trusted
  }

  /**
   * Piece `index` was written whole by this process, every byte checked before it was written,
   * into files only this process writes (a job's staged files, under its lock): it is served
   * without a hash. A leecher's staged files change identity with each write, so without this
   * its own pieces were hashed again for upload after every write into their files.
   */
  placed(index: number): void {
    this.placedHere.add(index)
  }

  /**
   * The identity under which piece `index` (reading `paths`) is read without a hash: its own last
   * check's, or else the one its files had when the install checked them (all of them recorded).
   */
  private knownIdentity(index: number, paths: readonly string[]): string | undefined {
    const checked = this.verified.get(index)
    if (checked !== undefined || this.trusted.size === 0) return checked
    const files = paths.map((path) => this.trusted.get(path))
    return files.every((f): f is string => f !== undefined) ? pieceIdentity(files) : undefined
  }

  /**
   * Bytes [offset, offset + length) of a piece, for a socket: lent (a view, given back by the
   * socket's write; see upload-loans.ts) or, with LENT_PIECES pieces still out, copied; or, for a
   * verified piece out of the cache, read alone.
   */
  async block(index: number, offset: number, length: number): Promise<Buffer> {
    if (this.verified.has(index) && !this.cached.has(index) && !this.reading.has(index)) {
      const block = await this.readBlock(index, offset, length)
      if (block) return block
    }
    // Lent or copied in the same turn the piece is found in, before any read could reuse its buffer.
    const piece = await this.piece(index)
    const end = Math.min(offset + length, piece.length)
    if (this.lentOut >= LENT_PIECES) return this.copy(piece.subarray(offset, end))
    const view = piece.subarray(offset, end)
    lend(view)
    return view
  }

  /**
   * A block of a piece that verified and has left the cache, read on its own while the piece's
   * files keep the identity they had then: peers on more pieces than the cache holds made each
   * block cost a read of its whole piece (a seeder capped at 32 MiB/s read 4.6 GiB to send 1.5).
   * Undefined when a file has changed: the piece is read and verified again.
   */
  private async readBlock(index: number, offset: number, length: number): Promise<Buffer | undefined> {
    const { paths, segments, length: size } = this.pieceLayout(index)
    const end = Math.min(offset + length, size)
    const into = this.copyBuffer(end - offset)
    const task = { kind: 'readPiece', into, paths, segments, length: size, sha1: new Uint8Array(0), identity: this.verified.get(index), placedHere: this.placedHere.has(index), range: { from: offset, to: end } } as const
    const r = (await this.workers.run(task, [into])) as ReadPieceResult
    if (!r.ok) {
      this.giveBackCopy(r.into)
      if (r.changed) return undefined
      throw new Error(`piece ${index}: a release file ends early; not uploading it`)
    }
    return this.lendCopy(Buffer.from(r.into, 0, end - offset))
  }

  /** `bytes` in a copy buffer, lent like a piece's view, that comes back to the pool once written. */
  private copy(bytes: Buffer): Buffer {
    const view = Buffer.from(this.copyBuffer(bytes.length), 0, bytes.length)
    view.set(bytes)
    return this.lendCopy(view)
  }

  private copyBuffer(length: number): ArrayBuffer {
    return (length <= COPY_BYTES ? this.copies.pop() : undefined) ?? new ArrayBuffer(Math.max(COPY_BYTES, length))
  }

  private giveBackCopy(buffer: ArrayBuffer): void {
    if (buffer.byteLength === COPY_BYTES && this.copies.length < COPY_BUFFERS) this.copies.push(buffer)
  }

  private lendCopy(view: Buffer): Buffer {
    lend(view)
    const buffer = view.buffer as ArrayBuffer
    onAllBack(buffer, () => this.giveBackCopy(buffer))
    return view
  }

  /**
   * A piece buffer leaving the cache: spare for the next read once every byte lent from it is
   * back. Spares are kept up to the lent pieces and reads together: with spares for the reads
   * alone, a seeder capped at 32 MiB/s dropped 178 of its 187 buffers (4 MiB each) as their
   * bytes came back, and left them to the collector while it allocated new ones.
   */
  private retire(buffer: ArrayBuffer): void {
    if (allBack(buffer)) return void this.spare.push(buffer)
    this.lentOut++
    const token = {}
    this.lentDropped.register(buffer, undefined, token)
    onAllBack(buffer, () => {
      this.lentDropped.unregister(token)
      this.lentOut--
      if (this.spare.length < READS_AT_ONCE + LENT_PIECES) this.spare.push(buffer)
    })
  }

  private piece(index: number): Promise<Buffer> {
    const hit = used(this.cached, index)
    if (hit) return Promise.resolve(hit)
    let pending = this.reading.get(index)
    if (!pending) {
      pending = this.read(index).finally(() => this.reading.delete(index))
      this.reading.set(index, pending)
    }
    return pending
  }

  private async read(index: number): Promise<Buffer> {
    while (this.reads >= READS_AT_ONCE) await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.reads++
    try {
      return await this.readNow(index)
    } finally {
      this.reads--
      this.waiting.shift()?.()
    }
  }

  /**
   * The files a piece reads and where its bytes lie in them (see ReadPieceTask); kept for the
   * next block, since a piece out of the cache is read a block at a time.
   */
  private pieceLayout(index: number): PieceLayout {
    const kept = used(this.layouts, index)
    if (kept) return kept
    const layout = this.layOut(index)
    remember(this.layouts, index, layout, LAYOUTS_KEPT)
    return layout
  }

  private layOut(index: number): PieceLayout {
    const paths: string[] = []
    const pathIndex = new Map<string, number>()
    const parts: number[] = []
    let at = 0
    for (const s of this.layout.geometry.segments(index)) {
      if (s.kind === 'chunk') {
        const from = this.layout.readFrom(s.chunk)
        if (!from) throw new Error(`piece ${index} holds chunk ${s.chunk}, which this release does not have`)
        let p = pathIndex.get(from.path)
        if (p === undefined) pathIndex.set(from.path, (p = paths.push(from.path) - 1))
        parts.push(p, from.offset + s.offset, at, s.length)
      }
      at += s.length
    }
    return { paths, segments: Float64Array.from(parts), length: at }
  }

  private async readNow(index: number): Promise<Buffer> {
    const { paths, segments, length: at } = this.pieceLayout(index)
    const sha1 = pieceSha1(this.layout.pieceHashes, index)
    const reuse = this.spare.pop()
    const into = reuse && reuse.byteLength >= at ? reuse : new ArrayBuffer(at)
    const placedHere = this.placedHere.has(index)
    const task = { kind: 'readPiece', into, paths, segments, length: at, sha1, identity: this.knownIdentity(index, paths), placedHere } as const
    const r = (await this.workers.run(task, [into])) as ReadPieceResult
    this.verified.delete(index)
    if (!r.ok) {
      this.spare.push(r.into)
      throw new Error(placedHere ? `piece ${index}: a staged file ends early; not uploading it` : `piece ${index} read from the release files does not match its SHA-1; not uploading it`)
    }
    remember(this.verified, index, r.identity, VERIFIED_MAX)
    const piece = Buffer.from(r.into, 0, at)
    const dropped = remember(this.cached, index, piece, CACHED_PIECES)
    if (dropped) this.retire(dropped.buffer as ArrayBuffer)
    return piece
  }
}

/**
 * Sets `key` (not in `map`) last in an oldest-first map, and drops the oldest entry once there
 * are more than `max`; returns the value dropped.
 */
function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): V | undefined {
  map.set(key, value)
  if (map.size <= max) return undefined
  const [oldest, dropped] = map.entries().next().value!
  map.delete(oldest)
  return dropped
}

/** `map`'s entry for `key`, moved to the end of a least-recently-used-first map. */
function used<K, V>(map: Map<K, V>, key: K): V | undefined {
  const value = map.get(key)
  if (value !== undefined) {
    map.delete(key)
    map.set(key, value)
  }
  return value
}

type Callback<T = void> = (err: Error | null, value?: T) => void

interface GetOptions {
  readonly offset?: number
  readonly length?: number
}

export interface PieceStoreOptions {
  readonly shoal: PieceReader
}

export class InstallPieceStore {
  readonly chunkLength: number
  private readonly reader: PieceReader
  private closed = false

  constructor(chunkLength: number, opts: PieceStoreOptions) {
    this.chunkLength = chunkLength
    this.reader = opts.shoal
  }

  put(index: number, _buf: Uint8Array, cb: Callback = () => undefined): void {
    // Peers' pieces go through the placement workers (routePieces), never through the store.
    queueMicrotask(() => cb(new Error(`piece ${index}: the install store takes no writes`)))
  }

  get(index: number, opts: GetOptions | Callback<Uint8Array> | null | undefined, callback?: Callback<Uint8Array>): void {
    // abstract-chunk-store allows get(index, cb) as well as get(index, opts, cb).
    const cb = typeof opts === 'function' ? opts : callback!
    const range = typeof opts === 'function' ? undefined : opts
    if (this.closed) return queueMicrotask(() => cb(new Error('store is closed')))
    const offset = range?.offset ?? 0
    this.reader.block(index, offset, range?.length ?? Infinity).then(
      (block) => cb(null, block),
      (err: Error) => cb(err),
    )
  }

  close(cb: Callback = () => undefined): void {
    this.closed = true
    queueMicrotask(() => cb(null))
  }

  destroy(cb: Callback = () => undefined): void {
    // The files belong to the release, not to the torrent: never delete them here.
    this.close(cb)
  }
}
