import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { linuxPowerReader } from '../../../app/agent/power-signals.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()

async function supply(root: string, name: string, files: Record<string, string>): Promise<void> {
  await mkdir(join(root, name), { recursive: true })
  for (const [file, text] of Object.entries(files)) await writeFile(join(root, name, file), text + '\n')
}

describe('Linux power signals (/sys/class/power_supply)', () => {
  it('on battery only when a battery discharges and no mains supply is online', async () => {
    const root = await tempDir()
    await supply(root, 'AC', { type: 'Mains', online: '0' })
    await supply(root, 'BAT0', { type: 'Battery', status: 'Discharging' })
    expect(await linuxPowerReader(root)()).toEqual({ onBattery: true, metered: false })
    await supply(root, 'AC', { type: 'Mains', online: '1' })
    expect((await linuxPowerReader(root)()).onBattery).toBe(false)
    await supply(root, 'AC', { type: 'Mains', online: '0' })
    await supply(root, 'BAT0', { type: 'Battery', status: 'Charging' })
    expect((await linuxPowerReader(root)()).onBattery).toBe(false)
  })

  it('a desktop without supplies, or without the folder, is not on battery', async () => {
    expect(await linuxPowerReader(join(await tempDir(), 'missing'))()).toEqual({ onBattery: false, metered: false })
  })
})
