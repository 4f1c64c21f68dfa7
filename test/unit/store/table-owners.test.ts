// Each SQL table has one owner module in app/store/: its SQL appears nowhere else. The schema
// (CREATE TABLE, in state-db.ts's migrations) is where the list of tables comes from.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const SCHEMA = 'app/store/state-db.ts'

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f))
}

const tables = [...readFileSync(join(root, SCHEMA), 'utf8').matchAll(/CREATE TABLE (\w+)/g)].map((m) => m[1]!)
const modules = [...sources('app'), ...sources('main')].filter((f) => f !== SCHEMA).map((f) => ({ path: f, text: readFileSync(join(root, f), 'utf8') }))

/** Modules whose SQL names `table` after a keyword that reads, writes or alters it. */
function owners(table: string): string[] {
  const sql = new RegExp(`\\b(FROM|INTO|UPDATE|JOIN|TABLE)\\s+${table}\\b`)
  return modules.filter((m) => sql.test(m.text)).map((m) => m.path)
}

describe('table ownership', () => {
  it('finds the schema', () => {
    expect(tables).toEqual(['installs', 'jobs', 'history', 'products', 'settings', 'agent_jobs', 'uploads', 'job_progress', 'verified_files'])
  })

  it.each(tables)('%s is used in the SQL of exactly one module, in app/store/', (table) => {
    const found = owners(table)
    expect(found).toHaveLength(1)
    expect(found[0]).toMatch(/^app\/store\//)
  })

  it('would see a second module', () => {
    modules.push({ path: 'app/agent/x.ts', text: "db.prepare('SELECT * FROM uploads')" })
    try {
      expect(owners('uploads')).toHaveLength(2)
    } finally {
      modules.pop()
    }
  })
})
