import { fileURLToPath } from 'node:url'
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const eslint = new ESLint({ cwd: root })

async function ruleIds(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}/${file}` })
  return result!.messages.map((m) => m.ruleId ?? m.message)
}

describe('folder boundaries are enforced by lint', () => {
  it.each([
    ['app/x.ts', "import { app } from 'electron'\nexport const a = app", 'no-restricted-imports'],
    ['shared/x.ts', "import { app } from 'electron'\nexport const a = app", 'no-restricted-imports'],
    ['shared/x.ts', "import { readFile } from 'node:fs'\nexport const r = readFile", 'no-restricted-imports'],
    ['shared/x.ts', "import { join } from 'path'\nexport const j = join", 'no-restricted-imports'],
    ['shared/x.ts', 'export const env = process.env', 'no-restricted-globals'],
    ['renderer/x.tsx', "import { readFile } from 'node:fs'\nexport const r = readFile", 'no-restricted-imports'],
    ['renderer/x.tsx', "import { publish } from '../app/release/publish.ts'\nexport const p = publish", 'no-restricted-imports'],
    ['renderer/x.tsx', "import { x } from '../main/index.ts'\nexport const y = x", 'no-restricted-imports'],
    ['renderer/x.tsx', 'export const argv = process.argv', 'no-restricted-globals'],
    ['app/engine/x.ts', "import { Agent } from '../agent/agent.ts'\nexport const a = Agent", 'no-restricted-imports'],
    ['app/engine/sources/peers/x.ts', "import { Output } from '../../cli/output.ts'\nexport const o = Output", 'no-restricted-imports'],
    ['app/engine/install/x.ts', "import { runClients } from '../../demo/demo-clients.ts'\nexport const r = runClients", 'no-restricted-imports'],
    ['app/engine/stats/x.ts', "import { startTracker } from '../../tracker/tracker-server.ts'\nexport const s = startTracker", 'no-restricted-imports'],
    ['app/engine/x.ts', "import { app } from 'electron'\nexport const a = app", 'no-restricted-imports'],
    ['app/cli/x.ts', "import { DEFAULT_CONNECTIONS } from '../engine/install/job-defaults.ts'\nexport const d = DEFAULT_CONNECTIONS", 'no-restricted-imports'],
    ['app/cli/commands/x.ts', "import { startSeeding } from '../../engine/sources/peers/seed-job.ts'\nexport const s = startSeeding", 'no-restricted-imports'],
    ['app/agent/x.ts', "import { installPaths } from '../engine/install/install-paths.ts'\nexport const i = installPaths", 'no-restricted-imports'],
    ['app/demo/x.ts', "import { offloadRatio } from '../engine/stats/source-bytes.ts'\nexport const o = offloadRatio", 'no-restricted-imports'],
    ['app/cli/x.ts', "import { app } from 'electron'\nexport const a = app", 'no-restricted-imports'],
    ['app/agent/x.ts', "import { x } from '../../main/index.ts'\nexport const y = x", 'no-restricted-imports'],
    ['app/policy/x.ts', "import { readFile } from 'node:fs'\nexport const r = readFile", 'no-restricted-imports'],
    ['app/policy/x.ts', "import { join } from 'path'\nexport const j = join", 'no-restricted-imports'],
    ['app/policy/x.ts', "import { app } from 'electron'\nexport const a = app", 'no-restricted-imports'],
    ['app/store/x.ts', "import { installPaths } from '../engine/engine.ts'\nexport const i = installPaths", 'no-restricted-imports'],
    ['app/store/x.ts', "import { AGENT_VERSION } from '../agent/agent.ts'\nexport const v = AGENT_VERSION", 'no-restricted-imports'],
    ['app/engine/install/x.ts', "import Database from 'better-sqlite3'\nexport const d = Database", 'no-restricted-imports'],
    ['app/agent/x.ts', "import Database from 'better-sqlite3'\nexport const d = Database", 'no-restricted-imports'],
    ['main/x.ts', "import Database from 'better-sqlite3'\nexport const d = Database", 'no-restricted-imports'],
    ['app/agent/x.ts', "export const f = (db: { prepare(s: string): unknown }) => db.prepare('SELECT * FROM products')", 'no-restricted-syntax'],
    ['app/engine/install/x.ts', "export const f = (o: { db: { prepare(s: string): unknown } }) => o.db.prepare('DELETE FROM jobs')", 'no-restricted-syntax'],
    ['app/cli/x.ts', "export const f = (db: { exec(s: string): void }) => db.exec('DELETE FROM history')", 'no-restricted-syntax'],
    ['app/agent/x.ts', "export const f = (c: { stateDb: { pragma(s: string): void } }) => c.stateDb.pragma('user_version = 0')", 'no-restricted-syntax'],
    ['app/engine/x.ts', 'export enum E { A }', 'no-restricted-syntax'],
  ])('%s: %j is refused', async (file, code, rule) => {
    expect(await ruleIds(file, code)).toContain(rule)
  })

  it.each([
    ['main/x.ts', "import { app } from 'electron'\nexport const a = app"],
    ['app/x.ts', "import { readFile } from 'node:fs'\nexport const r = readFile"],
    ['renderer/x.tsx', "import { formatBytes } from '../shared/units.ts'\nexport const f = formatBytes"],
    ['app/cli/x.ts', "import { DEFAULT_CONNECTIONS } from '../engine/engine.ts'\nexport const d = DEFAULT_CONNECTIONS"],
    ['app/cli/commands/x.ts', "import { loadSeeding } from '../../engine/engine.ts'\nexport const l = loadSeeding"],
    ['app/agent/x.ts', "import { installPaths } from '../engine/engine.ts'\nexport const i = installPaths"],
    ['app/demo/x.ts', "import { offloadRatio } from '../engine/engine.ts'\nexport const o = offloadRatio"],
    ['app/engine/install/x.ts', "import { DEFAULT_MAX_PEERS } from '../sources/peers/peer-settings.ts'\nexport const d = DEFAULT_MAX_PEERS"],
    ['app/engine/x.ts', "import { sharingDecision } from '../policy/sharing.ts'\nexport const s = sharingDecision"],
    ['app/policy/x.ts', "import * as v from 'valibot'\nexport const s = v.string()"],
    ['app/policy/x.ts', "import { formatBytes } from '../../shared/units.ts'\nexport const f = formatBytes"],
    ['app/store/x.ts', "import Database from 'better-sqlite3'\nexport const f = (db: Database.Database) => db.prepare('SELECT 1')"],
    ['app/store/x.ts', "import { DEFAULT_SETTINGS } from '../policy/settings-merge.ts'\nexport const d = DEFAULT_SETTINGS"],
    ['app/engine/x.ts', "export const m = (s: string) => /^(\\d+)$/.exec(s)"],
    ['app/tracker/x.ts', 'export const run = (p: { exec(): Promise<unknown> }) => p.exec()'],
  ])('%s: %j is allowed', async (file, code) => {
    expect(await ruleIds(file, code)).toEqual([])
  })
})
