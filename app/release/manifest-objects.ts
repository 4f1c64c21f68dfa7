// The two levels of a manifest (README, "Release format"): the signed top, and the objects it
// names by SHA-256 (each section's chunk table, each file's chunk list). The encodings are
// deterministic, so a client rebuilds the objects of a manifest it has and fetches only the rest.
// Pure but for zstd, which each object is stored with on the CDN.
import { createHash } from 'node:crypto'
import { zstdCompressSync, zstdDecompressSync } from 'node:zlib'
import { ShoalError } from '../../shared/errors.ts'
import { RELEASE_LIMITS, SCHEMA_VERSION, TOP_SCHEMA_VERSION, type Manifest, type ManifestObject, type PackSection, type TopManifest } from '../../shared/release-schema.ts'

/** Bytes per chunk of a section table: SHA-256, u32 LE raw size, u32 LE stored size. */
export const TABLE_ITEM_BYTES = 40
/** Bytes per reference of a chunk list: u32 LE global chunk index. */
export const LIST_ITEM_BYTES = 4

export interface RawObject {
  readonly raw: Buffer
  readonly sha256: string
  readonly items: number
  /** Bytes per item: TABLE_ITEM_BYTES or LIST_ITEM_BYTES. */
  readonly unit: number
}

const rawObject = (raw: Buffer, items: number, unit: number): RawObject => ({ raw, items, unit, sha256: createHash('sha256').update(raw).digest('hex') })

/** `digests`: the manifest's chunk digests, decoded once by a caller that makes every section's table. */
export function sectionTable(m: Pick<Manifest, 'chunks'>, s: Pick<PackSection, 'firstChunk' | 'chunkCount'>, digests = Buffer.from(m.chunks.sha256, 'base64')): RawObject {
  const raw = Buffer.alloc(s.chunkCount * TABLE_ITEM_BYTES)
  for (let i = 0; i < s.chunkCount; i++) {
    const c = s.firstChunk + i
    digests.copy(raw, i * TABLE_ITEM_BYTES, c * 32, c * 32 + 32)
    raw.writeUInt32LE(m.chunks.size[c]!, i * TABLE_ITEM_BYTES + 32)
    raw.writeUInt32LE(m.chunks.stored[c]!, i * TABLE_ITEM_BYTES + 36)
  }
  return rawObject(raw, s.chunkCount, TABLE_ITEM_BYTES)
}

export function chunkList(chunks: readonly number[]): RawObject {
  const raw = Buffer.alloc(chunks.length * LIST_ITEM_BYTES)
  chunks.forEach((c, i) => raw.writeUInt32LE(c, i * LIST_ITEM_BYTES))
  return rawObject(raw, chunks.length, LIST_ITEM_BYTES)
}

/** Every object of a full manifest by SHA-256: what a client holding it need not fetch again. */
export function localObjects(m: Manifest): Map<string, Buffer> {
  const objects = new Map<string, Buffer>()
  const digests = Buffer.from(m.chunks.sha256, 'base64')
  for (const o of [...m.pack.sections.map((s) => sectionTable(m, s, digests)), ...m.files.map((f) => chunkList(f.chunks))]) objects.set(o.sha256, o.raw)
  return objects
}

function without<T extends object, K extends keyof T>(o: T, key: K): Omit<T, K> {
  const copy: Partial<T> = { ...o }
  delete copy[key]
  return copy as Omit<T, K>
}

/**
 * The top of a full manifest. `place` says where an object lives (an earlier version's index, or
 * the new one); objects with the same raw bytes are listed once.
 */
export function splitManifest(m: Manifest, place: (o: RawObject) => Pick<ManifestObject, 'path' | 'offset' | 'size' | 'coding'>): TopManifest {
  const objects: ManifestObject[] = []
  const index = new Map<string, number>()
  const add = (o: RawObject): number => {
    let at = index.get(o.sha256)
    if (at === undefined) {
      at = objects.push({ ...place(o), items: o.items, sha256: o.sha256 }) - 1
      index.set(o.sha256, at)
    }
    return at
  }
  const { files, pack, ...rest } = without(m, 'chunks')
  const digests = Buffer.from(m.chunks.sha256, 'base64')
  const sections = pack.sections.map((s) => ({ ...s, table: add(sectionTable(m, s, digests)) }))
  const listed = files.map(({ chunks, ...f }) => ({ ...f, list: add(chunkList(chunks)) }))
  return { ...rest, schema: TOP_SCHEMA_VERSION, pack: { ...pack, sections }, files: listed, objects }
}

/** The objects a top uses as tables and as lists; refuses indices out of range and totals over the limits before anything is fetched. */
export function objectUses(top: TopManifest, what: string): { readonly unit: number[] } {
  if (top.objects.length > top.files.length + top.pack.sections.length) throw new ShoalError('E_LIMIT', `${what} lists ${top.objects.length} objects, more than its files and sections`)
  const unit: number[] = Array.from(top.objects, () => 0)
  const used = new Uint8Array(top.objects.length)
  const use = (at: number, bytes: number, by: string) => {
    const o = top.objects[at]
    if (!o) throw new ShoalError('E_SCHEMA', `${what}: ${by} names object ${at}, but there are ${top.objects.length}`)
    if (used[at] && unit[at] !== bytes && o.items > 0) throw new ShoalError('E_SCHEMA', `${what}: object ${at} is used both as a chunk table and as a chunk list`)
    used[at] = 1
    unit[at] = bytes
    return o.items
  }
  let chunks = 0
  for (const s of top.pack.sections) {
    if (use(s.table, TABLE_ITEM_BYTES, `section ${s.version}`) !== s.chunkCount) throw new ShoalError('E_SCHEMA', `${what}: section ${s.version} has ${s.chunkCount} chunks, but its table holds ${top.objects[s.table]!.items}`)
    chunks += s.chunkCount
  }
  if (chunks > RELEASE_LIMITS.chunks) throw new ShoalError('E_LIMIT', `${what} has ${chunks} chunks, more than ${RELEASE_LIMITS.chunks}`)
  let refs = 0
  for (const f of top.files) refs += use(f.list, LIST_ITEM_BYTES, f.path)
  if (refs > RELEASE_LIMITS.chunkRefs) throw new ShoalError('E_LIMIT', `${what} files reference ${refs} chunks in all, more than ${RELEASE_LIMITS.chunkRefs}`)
  // Nothing is fetched that no section or file uses.
  const unused = used.indexOf(0)
  if (unused >= 0) throw new ShoalError('E_SCHEMA', `${what}: object ${unused} is named by no section or file`)
  return { unit }
}

function chunkSize(n: number, what: string): number {
  if (n === 0 || n > RELEASE_LIMITS.chunkBytes) throw new ShoalError('E_SCHEMA', `${what}: a chunk table names a chunk of ${n} bytes`)
  return n
}

/** The full manifest a top and its raw objects (in `objects` order) describe; each object's hash and length is checked here, the rest by checkManifest. */
export function hydrate(top: TopManifest, raws: readonly Buffer[], what: string): Manifest {
  const { unit } = objectUses(top, what)
  top.objects.forEach((o, i) => {
    const raw = raws[i]
    if (!raw || createHash('sha256').update(raw).digest('hex') !== o.sha256) throw new ShoalError('E_MANIFEST_HASH', `${what}: object ${i} (${o.path} at ${o.offset}) does not match its SHA-256`, 'the CDN copy is damaged or was replaced; try another mirror')
    if (raw.length !== o.items * unit[i]!) throw new ShoalError('E_SCHEMA', `${what}: object ${i} is ${raw.length} bytes, not ${o.items} items`)
  })
  // The digests go straight into one buffer: a view per chunk was 229,714 objects for a 4 GiB release.
  const digests = Buffer.allocUnsafe(top.pack.sections.reduce((n, s) => n + raws[s.table]!.length / TABLE_ITEM_BYTES, 0) * 32)
  const size: number[] = []
  const stored: number[] = []
  for (const s of top.pack.sections) {
    const raw = raws[s.table]!
    for (let at = 0; at < raw.length; at += TABLE_ITEM_BYTES) {
      raw.copy(digests, size.length * 32, at, at + 32)
      size.push(chunkSize(raw.readUInt32LE(at + 32), what))
      stored.push(chunkSize(raw.readUInt32LE(at + 36), what))
    }
  }
  const { files, pack, ...rest } = without(top, 'objects')
  return {
    ...rest,
    schema: SCHEMA_VERSION,
    pack: { ...pack, sections: pack.sections.map((s) => without(s, 'table')) },
    chunks: { sha256: digests.toString('base64'), size, stored },
    files: files.map(({ list, ...f }) => {
      const raw = raws[list]!
      const chunks: number[] = []
      for (let at = 0; at < raw.length; at += LIST_ITEM_BYTES) chunks.push(raw.readUInt32LE(at))
      return { ...f, chunks }
    }),
  }
}

/**
 * A chunk list's references as differences from the one before, modulo 2^32 (and back): a file's
 * chunks mostly run in pack order, so most differences are 1 and compress to almost nothing. The
 * changed files' lists of the typescript 5.8.3 update take 440 bytes this way, 1,694 as they are.
 */
function listDifferences(raw: Buffer, undo: boolean): Buffer {
  const out = Buffer.alloc(raw.length)
  let previous = 0
  for (let at = 0; at + LIST_ITEM_BYTES <= raw.length; at += LIST_ITEM_BYTES) {
    const value = raw.readUInt32LE(at)
    out.writeUInt32LE(undo ? (previous + value) >>> 0 : (value - previous) >>> 0, at)
    previous = undo ? out.readUInt32LE(at) : value
  }
  return out
}

/** An object as an index file stores it: zstd of its raw bytes, or of a list's differences when that is smaller. */
export function storeObject(o: RawObject): { readonly stored: Buffer; readonly coding?: 'delta' } {
  const plain = zstdCompressSync(o.raw)
  if (o.unit !== LIST_ITEM_BYTES) return { stored: plain }
  const coded = zstdCompressSync(listDifferences(o.raw, false))
  return coded.length < plain.length ? { stored: coded, coding: 'delta' } : { stored: plain }
}

/** A raw object from its stored bytes: decompressed within the size its item count allows, then checked by hydrate. */
export function inflateObject(stored: Buffer, o: ManifestObject, unit: number, what: string): Buffer {
  const limit = o.items * unit
  if (o.coding === 'delta' && unit !== LIST_ITEM_BYTES) throw new ShoalError('E_SCHEMA', `${what}: object ${o.sha256.slice(0, 16)} is a chunk table stored as a list's differences`)
  let raw: Buffer
  try {
    raw = zstdDecompressSync(stored, { maxOutputLength: Math.max(1, limit) })
  } catch {
    throw new ShoalError('E_MANIFEST_HASH', `${what}: object ${o.sha256.slice(0, 16)} (${o.path} at ${o.offset}) does not decompress to its ${limit} bytes`, 'the CDN copy is damaged or was replaced; try another mirror')
  }
  return o.coding === 'delta' ? listDifferences(raw, true) : raw
}
