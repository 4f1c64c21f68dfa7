// The release an install folder holds, written beside it after every switch. Each data dir (the
// agent's, a user's CLI, root's) keeps its own installs table; when another process switched the
// folder, this record lets the rest adopt the new release instead of planning, verifying and
// seeding against a version that is gone.
import type { KeyObject } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import * as v from 'valibot'
import { decodeManifest } from '../../release/manifest-codec.ts'
import { writeFileAtomic } from '../../release/atomic-file.ts'
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
  const record: v.InferOutput<typeof recordSchema> = { product: row.product, version: row.version, manifest: row.manifest.toString('base64'), pubkey_id: row.pubkey_id, installed_at: row.installed_at, product_root: row.product_root, mirrors: row.mirrors, previous_version: row.previous_version, previous_manifest: row.previous_manifest?.toString('base64') ?? null }
  await writeFileAtomic(installPaths(installDir).record, JSON.stringify(record))
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
