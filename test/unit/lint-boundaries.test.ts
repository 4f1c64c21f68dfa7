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
  ])('%s: %j is refused', async (file, code, rule) => {
    expect(await ruleIds(file, code)).toContain(rule)
  })

  it.each([
    ['main/x.ts', "import { app } from 'electron'\nexport const a = app"],
    ['app/x.ts', "import { readFile } from 'node:fs'\nexport const r = readFile"],
    ['renderer/x.tsx', "import { formatBytes } from '../shared/units.ts'\nexport const f = formatBytes"],
  ])('%s: %j is allowed', async (file, code) => {
    expect(await ruleIds(file, code)).toEqual([])
  })
})
