// An abstract-chunk-store for webtorrent that maps pack pieces onto release files, so
// the pack never exists as a second copy. A seeder reads pieces back from installed
// files and checks each one's SHA-1 before it may be uploaded; a leecher writes each
// verified piece's chunk slices to every position those chunks fill.
import { createHash } from 'node:crypto'
import { open, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { Manifest } from '../../../shared/release-schema.ts'
import { packGeometry, type PackGeometry } from './pack-geometry.ts'

export interface FilePosition {
  readonly path: string
  readonly offset: number
}

export interface PieceStoreLayout {
  readonly geometry: PackGeometry
  /** 20-byte SHA-1 per piece. */
  readonly pieceHashes: Uint8Array
  /** One place each chunk can be read from; undefined for chunks this release does not use. */
  readonly readFrom: readonly (FilePosition | undefined)[]
  /** Every place each chunk goes. */
  readonly writeTo: readonly FilePosition[][]
}

/** The layout of a release rooted at `root` (an install or a staging folder). */
export function pieceStoreLayout(m: Manifest, root: string): PieceStoreLayout {
  const writeTo: FilePosition[][] = m.chunks.size.map(() => [])
  for (const f of m.files) {
    let offset = 0
    for (const c of f.chunks) {
      writeTo[c]!.push({ path: join(root, f.path), offset })
      offset += m.chunks.size[c]!
    }
  }
  return { geometry: packGeometry(m), pieceHashes: Buffer.from(m.pack.pieces, 'base64'), readFrom: writeTo.map((w) => w[0]), writeTo }
}

/** A BitTorrent bitfield (most significant bit first, as webtorrent's `bitfield` option takes it). */
export function torrentBitfield(pieces: Iterable<number>, count: number): Uint8Array {
  const bits = new Uint8Array(Math.ceil(count / 8))
  for (const p of pieces) bits[p >> 3]! |= 0x80 >> (p & 7)
  return bits
}

type Callback<T = void> = (err: Error | null, value?: T) => void

interface GetOptions {
  readonly offset?: number
  readonly length?: number
}

export interface PieceStoreOptions {
  readonly shoal: PieceStoreLayout
}

export class InstallPieceStore {
  readonly chunkLength: number
  private readonly layout: PieceStoreLayout
  private readonly handles = new Map<string, Promise<FileHandle>>()
  private closed = false

  constructor(chunkLength: number, opts: PieceStoreOptions) {
    this.chunkLength = chunkLength
    this.layout = opts.shoal
  }

  put(index: number, buf: Uint8Array, cb: Callback = () => undefined): void {
    this.write(index, buf).then(() => cb(null), (err: Error) => cb(err))
  }

  get(index: number, opts: GetOptions | Callback<Uint8Array> | null | undefined, callback?: Callback<Uint8Array>): void {
    // abstract-chunk-store allows get(index, cb) as well as get(index, opts, cb).
    const cb = typeof opts === 'function' ? opts : callback!
    const range = typeof opts === 'function' ? undefined : opts
    this.read(index).then(
      (piece) => {
        const offset = range?.offset ?? 0
        cb(null, piece.subarray(offset, offset + (range?.length ?? piece.length - offset)))
      },
      (err: Error) => cb(err),
    )
  }

  close(cb: Callback = () => undefined): void {
    this.closed = true
    const all = [...this.handles.values()]
    this.handles.clear()
    Promise.all(all.map(async (h) => (await h).close())).then(() => cb(null), (err: Error) => cb(err))
  }

  destroy(cb: Callback = () => undefined): void {
    // The files belong to the release, not to the torrent: never delete them here.
    this.close(cb)
  }

  private handle(path: string): Promise<FileHandle> {
    if (this.closed) return Promise.reject(new Error('store is closed'))
    let h = this.handles.get(path)
    if (!h) {
      h = open(path, 'r+').catch(() => open(path, 'r'))
      this.handles.set(path, h)
    }
    return h
  }

  private pieceLength(index: number): number {
    return this.layout.geometry.segments(index).reduce((n, s) => n + s.length, 0)
  }

  private async write(index: number, buf: Uint8Array): Promise<void> {
    let at = 0
    for (const s of this.layout.geometry.segments(index)) {
      if (s.kind === 'chunk') {
        for (const target of this.layout.writeTo[s.chunk]!) {
          const h = await this.handle(target.path)
          await h.write(buf, at, s.length, target.offset + s.offset)
        }
      }
      at += s.length
    }
  }

  /** The whole piece from the release files, refused unless it matches the torrent's SHA-1. */
  private async read(index: number): Promise<Uint8Array> {
    const piece = Buffer.alloc(this.pieceLength(index))
    let at = 0
    for (const s of this.layout.geometry.segments(index)) {
      if (s.kind === 'chunk') {
        const from = this.layout.readFrom[s.chunk]
        if (!from) throw new Error(`piece ${index} holds chunk ${s.chunk}, which this release does not have`)
        const { bytesRead } = await (await this.handle(from.path)).read(piece, at, s.length, from.offset + s.offset)
        if (bytesRead !== s.length) throw new Error(`piece ${index}: ${from.path} is shorter than the manifest says`)
      }
      at += s.length
    }
    const expected = this.layout.pieceHashes.subarray(index * 20, index * 20 + 20)
    if (!createHash('sha1').update(piece).digest().equals(expected)) throw new Error(`piece ${index} read from the release files does not match its SHA-1; not uploading it`)
    return piece
  }
}
