// The release an install folder holds, written beside it after every switch. Each data dir (the
// agent's, a user's CLI, root's) keeps its own installs table; when another process switched the
// folder, this record lets the rest adopt the new release instead of planning, verifying and
// seeding against a version that is gone.
import type { KeyObject } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import * as v from 'valibot'
import { decodeManifest } from '../../release/manifest-codec.ts'
import { writePartsAtomic } from '../../release/atomic-file.ts'
import { readInstalledRow, saveInstall, type InstalledRow } from '../../store/installs-table.ts'
import type { StateDb } from '../../store/state-db.ts'
import { installPaths } from './install-paths.ts'

const recordSchema = v.strictObject({
  product: v.string(),
  version: v.string(),
  /** The signed manifest file, base64: whoever adopts it checks the signature with its own key. */
  manifest: v.string(),
  pubkey_id: v.string(),
  installed_at: v.string(),
  product_root: v.string(),
  mirrors: v.string(),
  /** The version the folder beside it keeps for rollback, as the switch left it. */
  previous_version: v.nullable(v.string()),
  previous_manifest: v.nullable(v.string()),
})

/** Writes the folder's current release (its installs row) beside it. */
export async function writeReleaseRecord(db: StateDb, installDir: string): Promise<void> {
  const row = readInstalledRow(db, installDir)
  if (!row) return
  await writePartsAtomic(installPaths(installDir).record, recordParts(row))
}

/** The record's JSON for `row`, in parts: its manifests a base64 part at a time. */
export function* recordParts(row: Omit<InstalledRow, 'dir'>): Generator<string> {
  const fields: Omit<v.InferOutput<typeof recordSchema>, 'manifest' | 'previous_manifest'> = { product: row.product, version: row.version, pubkey_id: row.pubkey_id, installed_at: row.installed_at, product_root: row.product_root, mirrors: row.mirrors, previous_version: row.previous_version }
  yield `${JSON.stringify(fields).slice(0, -1)},"manifest":"`
  yield* base64Parts(row.manifest)
  if (row.previous_manifest) {
    yield '","previous_manifest":"'
    yield* base64Parts(row.previous_manifest)
    yield '"}'
  } else yield '","previous_manifest":null}'
}

/** Bytes of input per base64 part: a multiple of 3, so the parts join into one base64 string. */
const BASE64_PART = 3 * 256 * 1024

/**
 * `bytes` as base64, a part at a time: a 4 GiB release's stored manifest is 10 MB, and its base64,
 * the record's JSON and its UTF-8 held about 45 MB more at once at the end of the install.
 */
function* base64Parts(bytes: Buffer): Generator<string> {
  for (let at = 0; at < bytes.length; at += BASE64_PART) yield bytes.toString('base64', at, Math.min(at + BASE64_PART, bytes.length))
}

/** Record files already looked at, by path: size and mtime, so an unchanged one is not read again. */
const seen = new Map<string, string>()

/**
 * Adopts a switch another data dir made: when the record beside the folder names a later switch
 * of the same product than this database's row (or this database has no row for the folder), and
 * its manifest verifies with `publicKey`, the row becomes that release, with the previous one as
 * the switch kept it. True when the row changed.
 */
export async function adoptReleaseRecord(db: StateDb, installDir: string, publicKey: KeyObject): Promise<boolean> {
  const paths = installPaths(installDir)
  const path = paths.record
  const st = await stat(path).catch(() => undefined)
  const stamp = st && `${st.size}:${st.mtimeMs}`
  if (!stamp || seen.get(path) === stamp) return false
  const row = readInstalledRow(db, paths.install)
  const parsed = v.safeParse(recordSchema, JSON.parse(await readFile(path, 'utf8').catch(() => 'null')))
  seen.set(path, stamp)
  if (!parsed.success) return false
  // A folder removed since (the user deleted the game) leaves its record behind: never adopted.
  if (!row && (await readdir(paths.install).catch(() => [])).length === 0) return false
  const r = parsed.output
  const manifest = Buffer.from(r.manifest, 'base64')
  if (row && (r.product !== row.product || r.installed_at <= row.installed_at || manifest.equals(row.manifest))) return false
  try {
    const m = decodeManifest(manifest, publicKey, `release record ${path}`)
    if (m.product !== r.product || m.version !== r.version) return false
  } catch {
    return false
  }
  // The previous version is the one the switch kept beside the folder, whatever this database had.
  const adopted: InstalledRow = { ...r, dir: paths.install, manifest, previous_manifest: r.previous_manifest === null ? null : Buffer.from(r.previous_manifest, 'base64') }
  saveInstall(db, adopted)
  return true
}
