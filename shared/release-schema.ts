import { z } from 'zod'

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
  maxBytes: 2 ** 50,
} as const

/** Pointers and the full manifest (the form the engine works on, and the one old releases signed). */
export const SCHEMA_VERSION = 1
/** A two-level manifest: the signed top, whose chunk tables and chunk lists are content-addressed objects. */
export const TOP_SCHEMA_VERSION = 2

const semver = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/
export const productId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'product ids are 1-64 of a-z 0-9 . _ - starting with a letter or digit')
export const versionString = z.string().max(128).regex(semver, 'versions are semver, e.g. 1.4.0')
export const channelName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'channel names are 1-32 of a-z 0-9 _ -')
const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `expected ${bytes * 2} lowercase hex digits`)
const count = z.number().int().nonnegative()
const byteCount = z.number().int().nonnegative().max(RELEASE_LIMITS.maxBytes)
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64')
const isoTime = z.iso.datetime()
/** A path relative to the product root, e.g. "1.2.0/pack.chunks"; resolved with URL rules. */
const productRelative = z.string().max(512).regex(/^(?!\/)(?!.*\.\.)[A-Za-z0-9._+/-]+$/, 'expected a product-relative path')

export const pointerSchema = z.strictObject({
  schema: z.literal(SCHEMA_VERSION),
  product: productId,
  channel: channelName,
  version: versionString,
  manifest: z.strictObject({ path: productRelative, sha256: hex(32), size: byteCount }),
  sequence: count,
  issuedAt: isoTime,
  expiresAt: isoTime,
  mirrors: z.array(z.url()).max(RELEASE_LIMITS.mirrors),
})
export type ChannelPointer = z.infer<typeof pointerSchema>

export const sectionSchema = z.strictObject({
  version: versionString,
  /** Offset of the section's first byte in the raw pack: always a multiple of the piece length. */
  offset: byteCount,
  /** Raw bytes of the section's chunks; the section is zero-padded up to the next piece boundary. */
  length: byteCount,
  firstChunk: count,
  chunkCount: count,
  store: z.strictObject({ path: productRelative, size: byteCount }),
})
export type PackSection = z.infer<typeof sectionSchema>

export const patchSchema = z.strictObject({
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
  chunks: z.array(count).min(1).max(RELEASE_LIMITS.chunks),
})
export type FilePatch = z.infer<typeof patchSchema>

/**
 * Where a release may be shared: `private` only with the release's trackers and given peers,
 * `lan` also through local service discovery (BEP 14) on the client's own network segment,
 * `public` also through the DHT once a policy allows it. A manifest without one is `private`.
 */
export const releaseScopes = ['private', 'lan', 'public'] as const
export type ReleaseScope = (typeof releaseScopes)[number]

const fileFields = {
  path: z.string().max(4096),
  mode: z.union([z.literal(0o644), z.literal(0o755)]),
  size: byteCount,
  sha256: hex(32),
}

export const manifestSchema = z.strictObject({
  schema: z.literal(SCHEMA_VERSION),
  product: productId,
  version: versionString,
  createdAt: isoTime,
  /** Optional so that manifests published before scopes existed still parse (as `private`). */
  scope: z.enum(releaseScopes).optional(),
  /**
   * Who admits peers to the swarm (app/release/admission.ts): an ed25519 public key, SPKI DER in
   * base64. Absent: the publisher's own key. Signed with the rest, so no one else can name one.
   */
  admission: z.strictObject({ key: base64.max(128) }).optional(),
  chunking: z.strictObject({ algorithm: z.string().max(64), min: count, avg: count, max: count }),
  pack: z.strictObject({
    name: z.string().min(1).max(255),
    pieceLength: z.number().int().min(16 * 1024).max(256 * 1024 * 1024),
    length: byteCount,
    private: z.boolean(),
    announce: z.array(z.url()).max(RELEASE_LIMITS.trackers),
    /** SHA-1 of every piece, concatenated (20 bytes each). */
    pieces: base64,
    infoHash: hex(20),
    sections: z.array(sectionSchema).min(1).max(RELEASE_LIMITS.sections),
  }),
  chunks: z.strictObject({
    /** SHA-256 of every chunk in pack order, concatenated (32 bytes each). */
    sha256: base64,
    size: z.array(z.number().int().positive().max(RELEASE_LIMITS.chunkBytes)).max(RELEASE_LIMITS.chunks),
    /** Bytes in the CDN store; smaller than `size` means zstd-compressed. */
    stored: z.array(z.number().int().positive().max(RELEASE_LIMITS.chunkBytes)).max(RELEASE_LIMITS.chunks),
  }),
  files: z
    .array(
      z.strictObject({
        ...fileFields,
        chunks: z.array(count).max(RELEASE_LIMITS.chunks),
      }),
    )
    .max(RELEASE_LIMITS.files),
  totals: z.strictObject({ files: count, bytes: byteCount, chunkRefs: count, uniqueChunks: count, uniqueBytes: byteCount }),
  /**
   * Per-file patches (zstd, the old file as dictionary) against earlier versions. Their bytes are
   * chunks of the release's patch section, so the CDN and peers serve them like any chunk.
   */
  patches: z.array(patchSchema).max(RELEASE_LIMITS.files).optional(),
})
export type Manifest = z.infer<typeof manifestSchema>
export type ManifestFile = Manifest['files'][number]

/**
 * An object of a two-level manifest: a section's chunk table (40 bytes per chunk) or a file's
 * chunk list (4 bytes per reference), stored zstd-compressed at `offset` in an index file.
 * `sha256` is over the raw object, so a client can rebuild it from a manifest it already has.
 */
export const manifestObjectSchema = z.strictObject({
  path: productRelative,
  offset: byteCount,
  /** Compressed bytes in the index file. */
  size: z.number().int().positive().max(RELEASE_LIMITS.chunks * 40),
  /** Chunks of a table, or references of a list. */
  items: z.number().int().nonnegative().max(RELEASE_LIMITS.chunks),
  sha256: hex(32),
})
export type ManifestObject = z.infer<typeof manifestObjectSchema>

/** The signed top of a two-level manifest: the full manifest less `chunks`, with objects in place of the long lists. */
export const topManifestSchema = manifestSchema.omit({ schema: true, chunks: true, files: true, pack: true }).extend({
  schema: z.literal(TOP_SCHEMA_VERSION),
  pack: manifestSchema.shape.pack.omit({ sections: true }).extend({
    sections: z.array(sectionSchema.extend({ table: count })).min(1).max(RELEASE_LIMITS.sections),
  }),
  files: z.array(z.strictObject({ ...fileFields, list: count })).max(RELEASE_LIMITS.files),
  objects: z.array(manifestObjectSchema).max(RELEASE_LIMITS.files + RELEASE_LIMITS.sections),
})
export type TopManifest = z.infer<typeof topManifestSchema>

/** The one signed container for pointers and manifests. */
export const envelopeSchema = z.strictObject({
  format: z.literal('shoal-signed-v1'),
  type: z.enum(['pointer', 'manifest']),
  alg: z.literal('ed25519'),
  keyId: hex(8),
  signature: base64,
  encoding: z.enum(['utf8', 'zstd+base64']),
  payload: z.string(),
})
export type SignedEnvelope = z.infer<typeof envelopeSchema>
