import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'

// Ordered schema steps; the database records how many it has applied. Each table's reads and
// writes live in its owner module beside this one (installs-table.ts, jobs-table.ts, ...).
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE installs (
     dir TEXT PRIMARY KEY,
     product TEXT NOT NULL,
     version TEXT NOT NULL,
     manifest BLOB NOT NULL,
     pubkey_id TEXT NOT NULL,
     installed_at TEXT NOT NULL,
     previous_version TEXT,
     previous_manifest BLOB,
     product_root TEXT NOT NULL,
     mirrors TEXT NOT NULL
   );
   CREATE TABLE jobs (
     id INTEGER PRIMARY KEY,
     dir TEXT NOT NULL UNIQUE,
     product TEXT NOT NULL,
     version TEXT NOT NULL,
     manifest BLOB NOT NULL,
     manifest_sha256 TEXT NOT NULL,
     pubkey_id TEXT NOT NULL,
     phase TEXT NOT NULL,
     done BLOB,
     ops TEXT,
     next_op INTEGER NOT NULL DEFAULT 0,
     product_root TEXT NOT NULL,
     mirrors TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE history (
     id INTEGER PRIMARY KEY,
     dir TEXT NOT NULL,
     product TEXT NOT NULL,
     from_version TEXT,
     version TEXT NOT NULL,
     finished_at TEXT NOT NULL,
     seconds REAL NOT NULL,
     bytes TEXT NOT NULL
   );`,
  // shoal agent: the products it keeps current, its settings, and its job queue.
  `CREATE TABLE products (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     channel_url TEXT NOT NULL,
     public_key TEXT NOT NULL,
     install_dir TEXT NOT NULL UNIQUE,
     mirrors TEXT NOT NULL,
     available_version TEXT,
     state TEXT NOT NULL,
     error TEXT,
     last_check_at TEXT,
     created_at TEXT NOT NULL
   );
   CREATE TABLE settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );
   CREATE TABLE agent_jobs (
     id TEXT PRIMARY KEY,
     product_id TEXT NOT NULL,
     kind TEXT NOT NULL,
     state TEXT NOT NULL,
     mode TEXT NOT NULL,
     priority INTEGER NOT NULL,
     detail TEXT,
     from_version TEXT,
     version TEXT,
     bytes_total INTEGER NOT NULL DEFAULT 0,
     bytes_done INTEGER NOT NULL DEFAULT 0,
     bytes TEXT NOT NULL,
     error TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE uploads (
     month TEXT PRIMARY KEY,
     bytes INTEGER NOT NULL
   );`,
  // A staging job's done bits in a row of their own: updated in the jobs row every second, they
  // made SQLite rebuild that row, manifest included (17 ms of the main thread for a 1 GiB release).
  `CREATE TABLE job_progress (
     job_id INTEGER PRIMARY KEY,
     done BLOB NOT NULL
   );
   INSERT INTO job_progress (job_id, done) SELECT id, done FROM jobs WHERE done IS NOT NULL;
   ALTER TABLE jobs DROP COLUMN done;`,
  // What each switch verified, so a seeder need not hash pieces again (verified-files-table.ts).
  `CREATE TABLE verified_files (
     dir TEXT NOT NULL,
     path TEXT NOT NULL,
     identity TEXT NOT NULL,
     PRIMARY KEY (dir, path)
   );`,
]

export type StateDb = Database.Database

/** Opens (creating if needed) Shoal's SQLite state in the data dir: WAL, synchronous writes, migrated. */
export function openStateDb(dataDir: string): StateDb {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const db = new Database(join(dataDir, 'shoal.db'))
  db.pragma('journal_mode = WAL')
  // FULL: a committed journal step survives power loss, not only a killed process.
  db.pragma('synchronous = FULL')
  db.pragma('busy_timeout = 5000')
  // A 256 KiB page cache (SQLite's default is 2 MiB): the tables are small, and a job writes its
  // manifest (2.7 MB for 1 GiB) once; the default cache held those pages through the download.
  db.pragma('cache_size = -256')
  const applied = db.pragma('user_version', { simple: true }) as number
  for (let v = applied; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!)
      db.pragma(`user_version = ${v + 1}`)
    })()
  }
  return db
}
