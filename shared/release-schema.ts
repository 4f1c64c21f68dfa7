import * as v from 'valibot'
import { int, url } from './schema-rules.ts'

// Bounds keep a hostile manifest from exhausting memory before it is rejected.
export const RELEASE_LIMITS = {
  pointerBytes: 64 * 1024,
  manifestBytes: 256 * 1024 * 1024,
  /** Below V8's longest string (2^29 - 24 characters). */
  manifestJsonBytes: 256 * 1024 * 1024,
  /**
   * A compressed payload decodes to at most this many times its size (plus a mebibyte): signed
   * manifests compress 1.6:1 (their chunk digests do not compress), while 6 KB that repeat one
   * chunk reference 16 million times decode to 32 MB of JSON.
   */
  payloadExpansion: 64,
  /** Chunk references of all files together: each costs memory in planning and staging. */
  chunkRefs: 4_194_304,
  files: 1_000_000,
  chunks: 16_777_216,
  chunkBytes: 64 * 1024 * 1024,
  sections: 10_000,
  mirrors: 32,
  trackers: 32,
  /** Manifest deltas a pointer lists: one per earlier version a client may hold. */
  manifestDeltas: 8,
  maxBytes: 2 ** 50,
} as const

/** Pointers and the full manifest (the form the engine works on, and the one old releases signed). */
export const SCHEMA_VERSION = 1
/** A two-level manifest: the signed top, whose chunk tables and chunk lists are content-addressed objects. */
export const TOP_SCHEMA_VERSION = 2

const semver = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/
export const productId = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'product ids are 1-64 of a-z 0-9 . _ - starting with a letter or digit'))
export const versionString = v.pipe(v.string(), v.maxLength(128), v.regex(semver, 'versions are semver, e.g. 1.4.0'))
export const channelName = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'channel names are 1-32 of a-z 0-9 _ -'))
const hex = (bytes: number) => v.pipe(v.string(), v.regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `expected ${bytes * 2} lowercase hex digits`))
const count = int(0)
const byteCount = int(0, RELEASE_LIMITS.maxBytes)
const base64 = v.pipe(v.string(), v.regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64'))
// zod's iso.datetime(), whose rule this copies: a real calendar date, hours, minutes and seconds,
// an optional fraction, and "Z": no offset.
const isoDate = String.raw`(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8])))`
const isoTime = v.pipe(v.string(), v.regex(new RegExp(String.raw`^${isoDate}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?Z$`), 'expected an ISO 8601 UTC time, e.g. 2026-01-01T00:00:00Z'))
/** A path relative to the product root, e.g. "1.2.0/pack.chunks"; resolved with URL rules. */
const productRelative = v.pipe(v.string(), v.maxLength(512), v.regex(/^(?!\/)(?!.*\.\.)[A-Za-z0-9._+/-]+$/, 'expected a product-relative path'))

export const pointerSchema = v.strictObject({
  schema: v.literal(SCHEMA_VERSION),
  product: productId,
  channel: channelName,
  version: versionString,
  /** The signed manifest file: `path`, `sha256` and `size` are its own; `zstd` and `deltas` are cheaper ways to the same bytes. */
  manifest: v.strictObject({
    path: productRelative,
    sha256: hex(32),
    size: byteCount,
    /** The file zstd-compressed: what a client without an earlier version fetches. */
    zstd: v.optional(v.strictObject({ path: productRelative, size: byteCount })),
    /** The file as a patch against the manifest file of version `from` (README, "Manifest deltas"). */
    deltas: v.optional(v.pipe(v.array(v.strictObject({ from: versionString, path: productRelative, size: byteCount })), v.maxLength(RELEASE_LIMITS.manifestDeltas))),
  }),
  sequence: count,
  issuedAt: isoTime,
  expiresAt: isoTime,
  mirrors: v.pipe(v.array(url()), v.maxLength(RELEASE_LIMITS.mirrors)),
})
export type ChannelPointer = v.InferOutput<typeof pointerSchema>

export const sectionSchema = v.strictObject({
  version: versionString,
  /** Offset of the section's first byte in the raw pack: always a multiple of the piece length. */
  offset: byteCount,
  /** Raw bytes of the section's chunks; the section is zero-padded up to the next piece boundary. */
  length: byteCount,
  firstChunk: count,
  chunkCount: count,
  store: v.strictObject({ path: productRelative, size: byteCount }),
})
export type PackSection = v.InferOutput<typeof sectionSchema>

export const patchSchema = v.strictObject({
  /** The file it builds: an index into `files`. */
  file: count,
  fromVersion: versionString,
  /** SHA-256 of the old file the patch applies to, whatever its path was. */
  fromSha256: hex(32),
  /** SHA-256 of the file it builds; equals the file's own. */
  toSha256: hex(32),
  size: byteCount,
  /** Offset of the patch's first byte in its section's CDN store file (the chunk table implies it; checked). */
  storeOffset: byteCount,
  /** Chunks holding the patch's bytes, in order, in a patch section. */
  chunks: v.pipe(v.array(count), v.minLength(1), v.maxLength(RELEASE_LIMITS.chunks)),
})
export type FilePatch = v.InferOutput<typeof patchSchema>

/**
 * Where a release may be shared: `private` only with the release's trackers and given peers,
 * `lan` also through local service discovery (BEP 14) on the client's own network segment,
 * `public` also through the DHT once a policy allows it. A manifest without one is `private`.
 */
export const releaseScopes = ['private', 'lan', 'public'] as const
export type ReleaseScope = (typeof releaseScopes)[number]

const fileFields = {
  path: v.pipe(v.string(), v.maxLength(4096)),
  mode: v.picklist([0o644, 0o755]),
  size: byteCount,
  sha256: hex(32),
}

export const manifestSchema = v.strictObject({
  schema: v.literal(SCHEMA_VERSION),
  product: productId,
  version: versionString,
  createdAt: isoTime,
  /** Optional so that manifests published before scopes existed still parse (as `private`). */
  scope: v.optional(v.picklist(releaseScopes)),
  /**
   * Who admits peers to the swarm (app/release/admission.ts): an ed25519 public key, SPKI DER in
   * base64. Absent: the publisher's own key. Signed with the rest, so no one else can name one.
   */
  admission: v.optional(v.strictObject({ key: v.pipe(base64, v.maxLength(128)) })),
  chunking: v.strictObject({ algorithm: v.pipe(v.string(), v.maxLength(64)), min: count, avg: count, max: count }),
  pack: v.strictObject({
    name: v.pipe(v.string(), v.minLength(1), v.maxLength(255)),
    pieceLength: int(16 * 1024, 256 * 1024 * 1024),
    length: byteCount,
    private: v.boolean(),
    announce: v.pipe(v.array(url()), v.maxLength(RELEASE_LIMITS.trackers)),
    /** SHA-1 of every piece, concatenated (20 bytes each). */
    pieces: base64,
    infoHash: hex(20),
    sections: v.pipe(v.array(sectionSchema), v.minLength(1), v.maxLength(RELEASE_LIMITS.sections)),
  }),
  chunks: v.strictObject({
    /** SHA-256 of every chunk in pack order, concatenated (32 bytes each). */
    sha256: base64,
    size: v.pipe(v.array(int(1, RELEASE_LIMITS.chunkBytes)), v.maxLength(RELEASE_LIMITS.chunks)),
    /** Bytes in the CDN store; smaller than `size` means zstd-compressed. */
    stored: v.pipe(v.array(int(1, RELEASE_LIMITS.chunkBytes)), v.maxLength(RELEASE_LIMITS.chunks)),
  }),
  files: v.pipe(
    v.array(
      v.strictObject({
        ...fileFields,
        chunks: v.pipe(v.array(count), v.maxLength(RELEASE_LIMITS.chunks)),
      }),
    ),
    v.maxLength(RELEASE_LIMITS.files),
  ),
  totals: v.strictObject({ files: count, bytes: byteCount, chunkRefs: count, uniqueChunks: count, uniqueBytes: byteCount }),
  /**
   * Per-file patches (zstd, the old file as dictionary) against earlier versions. Their bytes are
   * chunks of the release's patch section, so the CDN and peers serve them like any chunk.
   */
  patches: v.optional(v.pipe(v.array(patchSchema), v.maxLength(RELEASE_LIMITS.files))),
})
export type Manifest = v.InferOutput<typeof manifestSchema>
export type ManifestFile = Manifest['files'][number]

/**
 * An object of a two-level manifest: a section's chunk table (40 bytes per chunk) or a file's
 * chunk list (4 bytes per reference), stored zstd-compressed at `offset` in an index file.
 * `sha256` is over the raw object, so a client can rebuild it from a manifest it already has.
 */
export const manifestObjectSchema = v.strictObject({
  path: productRelative,
  offset: byteCount,
  /** Compressed bytes in the index file. */
  size: int(1, RELEASE_LIMITS.chunks * 40),
  /** Chunks of a table, or references of a list. */
  items: int(0, RELEASE_LIMITS.chunks),
  sha256: hex(32),
  /** `delta`: a chunk list stored as each reference's difference from the one before (README, "Two levels"). */
  coding: v.optional(v.literal('delta')),
})
export type ManifestObject = v.InferOutput<typeof manifestObjectSchema>

/** The signed top of a two-level manifest: the full manifest less `chunks`, with objects in place of the long lists. */
export const topManifestSchema = v.strictObject({
  ...v.omit(manifestSchema, ['schema', 'chunks', 'files', 'pack']).entries,
  schema: v.literal(TOP_SCHEMA_VERSION),
  pack: v.strictObject({
    ...v.omit(manifestSchema.entries.pack, ['sections']).entries,
    sections: v.pipe(v.array(v.strictObject({ ...sectionSchema.entries, table: count })), v.minLength(1), v.maxLength(RELEASE_LIMITS.sections)),
  }),
  files: v.pipe(v.array(v.strictObject({ ...fileFields, list: count })), v.maxLength(RELEASE_LIMITS.files)),
  objects: v.pipe(v.array(manifestObjectSchema), v.maxLength(RELEASE_LIMITS.files + RELEASE_LIMITS.sections)),
})
export type TopManifest = v.InferOutput<typeof topManifestSchema>

/** The one signed container for pointers and manifests. */
export const envelopeSchema = v.strictObject({
  format: v.literal('shoal-signed-v1'),
  type: v.picklist(['pointer', 'manifest']),
  alg: v.literal('ed25519'),
  keyId: hex(8),
  signature: base64,
  encoding: v.picklist(['utf8', 'zstd+base64']),
  payload: v.string(),
})
export type SignedEnvelope = v.InferOutput<typeof envelopeSchema>
