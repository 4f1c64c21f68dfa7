import { createHash, type KeyObject } from 'node:crypto'
import * as v from 'valibot'
import { ShoalError } from '../../shared/errors.ts'
import { manifestSchema, pointerSchema, RELEASE_LIMITS, TOP_SCHEMA_VERSION, topManifestSchema, type ChannelPointer, type Manifest, type TopManifest } from '../../shared/release-schema.ts'
import { pathSetProblem } from '../../shared/safe-path.ts'
import { hydrate } from './manifest-objects.ts'
import { alignUp } from './pack-planner.ts'
import { openEnvelope, sealEnvelope, storedPayload } from './signing.ts'
import { infoHash, torrentInfoOf } from './torrent.ts'

/** A full manifest (schema 1, as old releases and tests forge them), its payload compressed. */
export function encodeManifest(manifest: Manifest | TopManifest, key: KeyObject): Buffer {
  return sealEnvelope('manifest', JSON.stringify(manifest), key, true)
}

/**
 * The top of a two-level manifest, as published: its JSON left uncompressed inside the signed
 * file, so the next release's file differs from it only where the release does, and a patch
 * against it is small (README, "Manifest deltas"). The CDN also serves it zstd-compressed.
 */
export function encodeTop(top: TopManifest, key: KeyObject): Buffer {
  return sealEnvelope('manifest', JSON.stringify(top), key, false)
}

export function encodePointer(pointer: ChannelPointer, key: KeyObject): Buffer {
  return sealEnvelope('pointer', JSON.stringify(pointer), key, false)
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw new ShoalError('E_SCHEMA', `${what} payload is not JSON`)
  }
}

/** The parsed value, or the first issue as an error: E_LIMIT when a bound was passed. */
function validate<S extends v.GenericSchema>(result: v.SafeParseResult<S>, what: string): v.InferOutput<S> {
  if (!result.success) {
    const [issue] = result.issues
    const where = v.getDotPath(issue) || '(root)'
    const code = issue.type === 'max_length' || issue.type === 'max_value' ? 'E_LIMIT' : 'E_SCHEMA'
    throw new ShoalError(code, `${what} field ${where}: ${issue.message}`)
  }
  return result.output
}

export function decodePointer(file: Uint8Array, key: KeyObject, what = 'channel pointer'): ChannelPointer {
  if (file.length > RELEASE_LIMITS.pointerBytes) throw new ShoalError('E_LIMIT', `${what} is ${file.length} bytes, more than ${RELEASE_LIMITS.pointerBytes}`)
  return validate(v.safeParse(pointerSchema, parseJson(openEnvelope(file, 'pointer', key, RELEASE_LIMITS.pointerBytes, what), what)), what)
}

/** A signed manifest file as the CDN serves it: a full manifest (schema 1), or the top of a two-level one (schema 2). */
export type SignedManifest = { readonly schema: 1; readonly manifest: Manifest } | { readonly schema: 2; readonly top: TopManifest }

export function decodeSignedManifest(file: Uint8Array, key: KeyObject, what = 'manifest'): SignedManifest {
  if (file.length > RELEASE_LIMITS.manifestBytes) throw new ShoalError('E_LIMIT', `${what} is ${file.length} bytes, more than ${RELEASE_LIMITS.manifestBytes}`)
  const json = parseJson(openEnvelope(file, 'manifest', key, RELEASE_LIMITS.manifestJsonBytes, what), what)
  if ((json as { schema?: unknown } | null)?.schema === TOP_SCHEMA_VERSION) return { schema: 2, top: validate(v.safeParse(topManifestSchema, json), what) }
  const manifest = validate(parseFullManifest(json), what)
  checkManifest(manifest, what)
  return { schema: 1, manifest }
}

/**
 * A full manifest from a schema-1 file, or from a stored bundle (what the state database keeps
 * of a two-level manifest): the top's signature is checked first, then each object's hash.
 */
export function decodeManifest(file: Uint8Array, key: KeyObject, what = 'manifest'): Manifest {
  const bundle = splitBundle(file, what)
  const signed = decodeSignedManifest(bundle?.top ?? file, key, what)
  if (signed.schema === 1) return signed.manifest
  if (!bundle) throw new ShoalError('E_SCHEMA', `${what} is the top of a two-level manifest, without the objects it names`)
  return hydrateTop(signed.top, bundle.objects, what)
}

export function hydrateTop(top: TopManifest, objects: readonly Buffer[], what: string): Manifest {
  const manifest = hydrate(top, objects, what)
  checkManifest(manifest, what)
  return manifest
}

// A stored bundle: magic, u32 LE length and the signed top file, then each raw object of the
// top's `objects` in order, each after its u32 LE length. It holds only what the CDN signed or
// hashed, so it is checked again as a whole whenever it is read back.
const BUNDLE_MAGIC = Buffer.from('shoal-manifest-bundle-v1\0')

export function encodeBundle(topFile: Buffer, objects: readonly Buffer[]): Buffer {
  const u32 = (n: number) => {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(n)
    return b
  }
  return Buffer.concat([BUNDLE_MAGIC, u32(topFile.length), topFile, ...objects.flatMap((o) => [u32(o.length), o])])
}

function splitBundle(file: Uint8Array, what: string): { top: Buffer; objects: Buffer[] } | undefined {
  const bytes = Buffer.from(file.buffer, file.byteOffset, file.byteLength)
  if (bytes.length < BUNDLE_MAGIC.length || !bytes.subarray(0, BUNDLE_MAGIC.length).equals(BUNDLE_MAGIC)) return undefined
  const objects: Buffer[] = []
  let at = BUNDLE_MAGIC.length
  const next = () => {
    const length = at + 4 <= bytes.length ? bytes.readUInt32LE(at) : -1
    if (length < 0 || at + 4 + length > bytes.length) throw new ShoalError('E_SCHEMA', `${what}: the stored manifest bundle is truncated`)
    at += 4 + length
    return bytes.subarray(at - length, at)
  }
  const top = next()
  while (at < bytes.length) objects.push(next())
  return { top, objects }
}

/** The signed manifest file as the pointer named it (the top of a two-level one), from a stored manifest of either form. */
export function signedManifestFile(stored: Uint8Array): Uint8Array {
  return splitBundle(stored, 'stored manifest')?.top ?? stored
}

/** SHA-256 of the signed manifest file (the pointer names it), from a stored manifest of either form. */
export function manifestFileSha256(stored: Uint8Array): string {
  return createHash('sha256').update(signedManifestFile(stored)).digest('hex')
}

/** The file paths of a manifest read back from the state database (see storedPayload). */
export function storedManifestPaths(file: Uint8Array, what: string): string[] {
  const signed = splitBundle(file, what)?.top ?? file
  const m = JSON.parse(storedPayload(signed, RELEASE_LIMITS.manifestJsonBytes, what)) as Pick<Manifest, 'files'>
  return m.files.map((f) => f.path)
}

const isChunkSize = (n: unknown) => Number.isSafeInteger(n) && (n as number) > 0 && (n as number) <= RELEASE_LIMITS.chunkBytes
const isChunkIndex = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0
const numbers = (a: unknown, ok: (n: unknown) => boolean): a is number[] => Array.isArray(a) && a.length <= RELEASE_LIMITS.chunks && a.every(ok)

/**
 * The manifest schema, with its three long number lists (chunk sizes, stored sizes, each file's
 * chunk list) checked by hand against the same rules first and left out of the schema's pass,
 * which checks and copies every element through its generic machinery: with zod that took 74 ms
 * and the most memory of a 1 GiB manifest's decode (57k chunks), against under 5 ms this way.
 * Anything that fails the hand check goes through the schema whole, so errors read the same.
 */
function parseFullManifest(json: unknown): v.SafeParseResult<typeof manifestSchema> {
  const m = json as { chunks?: { size?: unknown; stored?: unknown }; files?: unknown }
  const files = Array.isArray(m?.files) ? (m.files as { chunks?: unknown }[]) : undefined
  // Before any list is checked or copied, and before the engine plans a position per reference.
  const refs = files?.reduce((n, f) => n + (Array.isArray(f?.chunks) ? f.chunks.length : 0), 0) ?? 0
  if (refs > RELEASE_LIMITS.chunkRefs) throw new ShoalError('E_LIMIT', `manifest files reference ${refs} chunks in all, more than ${RELEASE_LIMITS.chunkRefs}`)
  const lifts = m?.chunks && numbers(m.chunks.size, isChunkSize) && numbers(m.chunks.stored, isChunkSize) && files?.every((f) => numbers(f?.chunks, isChunkIndex))
  if (!lifts || !files) return v.safeParse(manifestSchema, json)
  const { size, stored } = m.chunks as { size: number[]; stored: number[] }
  const lists = files.map((f) => f.chunks as number[])
  const light = { ...m, chunks: { ...m.chunks, size: [], stored: [] }, files: files.map((f) => ({ ...f, chunks: [] })) }
  const result = v.safeParse(manifestSchema, light)
  if (result.success) {
    result.output.chunks.size = size
    result.output.chunks.stored = stored
    result.output.files.forEach((f, i) => (f.chunks = lists[i]!))
  }
  return result
}

function fail(what: string, message: string): never {
  throw new ShoalError('E_SCHEMA', `${what}: ${message}`)
}

/** Cross-field checks a schema cannot express; every offset the engine will use is proven here. */
export function checkManifest(m: Manifest, what = 'manifest'): void {
  const problem = pathSetProblem(m.files.map((f) => f.path))
  if (problem) throw new ShoalError('E_UNSAFE_PATH', `${what} lists an unsafe path "${problem.path}": ${problem.reason}`, 'refusing the whole release; nothing was written')

  const { chunks, pack } = m
  const count = chunks.size.length
  if (chunks.stored.length !== count) fail(what, 'chunks.stored and chunks.size differ in length')
  if (Buffer.byteLength(chunks.sha256, 'base64') !== count * 32) fail(what, 'chunks.sha256 does not hold 32 bytes per chunk')
  chunks.stored.forEach((stored, i) => stored > chunks.size[i]! && fail(what, `chunk ${i} is stored larger than its size`))

  let nextChunk = 0
  let nextOffset = 0
  for (const s of pack.sections) {
    if (s.firstChunk !== nextChunk) fail(what, `section ${s.version} starts at chunk ${s.firstChunk}, expected ${nextChunk}`)
    if (s.offset !== nextOffset) fail(what, `section ${s.version} starts at ${s.offset}, expected ${nextOffset}`)
    if (s.firstChunk + s.chunkCount > count) fail(what, `section ${s.version} runs past the chunk table`)
    let raw = 0
    let stored = 0
    for (let i = s.firstChunk; i < s.firstChunk + s.chunkCount; i++) {
      raw += chunks.size[i]!
      stored += chunks.stored[i]!
    }
    if (raw !== s.length) fail(what, `section ${s.version} length ${s.length} differs from its chunks (${raw})`)
    if (stored !== s.store.size) fail(what, `section ${s.version} store size ${s.store.size} differs from its chunks (${stored})`)
    nextChunk += s.chunkCount
    nextOffset = s.offset + alignUp(s.length, pack.pieceLength)
  }
  if (nextChunk !== count) fail(what, 'sections do not cover the chunk table')
  if (nextOffset !== pack.length) fail(what, `pack length ${pack.length} differs from its sections (${nextOffset})`)
  const pieceCount = Math.ceil(pack.length / pack.pieceLength)
  if (Buffer.from(pack.pieces, 'base64').length !== pieceCount * 20) fail(what, `pack.pieces does not hold 20 bytes for each of ${pieceCount} pieces`)
  if (infoHash(torrentInfoOf(m)) !== pack.infoHash) throw new ShoalError('E_INFOHASH', `${what}: pack.infoHash does not match the torrent info it describes`)

  let bytes = 0
  let refs = 0
  // A byte per chunk, not a Set: a 4 GiB release references 229,714 chunks.
  const used = new Uint8Array(count)
  let uniqueChunks = 0
  let uniqueBytes = 0
  for (const f of m.files) {
    let size = 0
    for (const c of f.chunks) {
      if (c >= count) fail(what, `${f.path} references chunk ${c}, but there are ${count}`)
      size += chunks.size[c]!
      if (used[c]) continue
      used[c] = 1
      uniqueChunks++
      uniqueBytes += chunks.size[c]!
    }
    if (size !== f.size) fail(what, `${f.path} is ${f.size} bytes but its chunks add up to ${size}`)
    bytes += size
    refs += f.chunks.length
  }
  const t = m.totals
  if (t.files !== m.files.length || t.bytes !== bytes || t.chunkRefs !== refs || t.uniqueChunks !== uniqueChunks || t.uniqueBytes !== uniqueBytes) {
    fail(what, 'totals do not match the file list')
  }
  checkPatches(m, what)
}

/** A patch's bytes are consecutive chunks of one section, at the store offset it names, building the file it names. */
function checkPatches(m: Manifest, what: string): void {
  const { chunks, pack } = m
  for (const [k, p] of (m.patches ?? []).entries()) {
    const file = m.files[p.file]
    if (!file) fail(what, `patch ${k} builds file ${p.file}, but there are ${m.files.length}`)
    if (p.toSha256 !== file.sha256) fail(what, `patch ${k} builds ${p.toSha256}, not ${file.path}'s SHA-256`)
    const first = p.chunks[0]!
    const section = pack.sections.find((s) => first >= s.firstChunk && first < s.firstChunk + s.chunkCount)
    if (!section) fail(what, `patch ${k} starts at chunk ${first}, outside every section`)
    let size = 0
    for (const [i, c] of p.chunks.entries()) {
      if (c !== first + i || c >= section.firstChunk + section.chunkCount) fail(what, `patch ${k}'s chunks are not consecutive in one section`)
      if (chunks.stored[c] !== chunks.size[c]) fail(what, `patch ${k}'s chunk ${c} is stored compressed; patches are stored as they are`)
      size += chunks.size[c]!
    }
    if (size !== p.size) fail(what, `patch ${k} is ${p.size} bytes but its chunks add up to ${size}`)
    let storeOffset = 0
    for (let c = section.firstChunk; c < first; c++) storeOffset += chunks.stored[c]!
    if (storeOffset !== p.storeOffset) fail(what, `patch ${k} names store offset ${p.storeOffset}, but its first chunk is at ${storeOffset}`)
  }
}
