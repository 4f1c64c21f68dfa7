// Reads the power and metered-network signals of this machine for the sharing policy.
// Linux: /sys/class/power_supply. Other OSes and the metered flag on Linux have no file
// to read; the desktop app passes Electron's signals instead, and the headless agent
// reports "not on battery, not metered" there.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { PowerSignals } from '../policy/sharing.ts'

export type PowerReader = () => Promise<PowerSignals>

const read = (path: string) => readFile(path, 'utf8').then((t) => t.trim(), () => '')

/** On battery: a battery discharges and no mains supply is online. */
export function linuxPowerReader(root = '/sys/class/power_supply'): PowerReader {
  return async () => {
    const supplies = await readdir(root).catch(() => [] as string[])
    let mains = false
    let discharging = false
    for (const name of supplies) {
      const type = await read(join(root, name, 'type'))
      if (type === 'Mains' && (await read(join(root, name, 'online'))) === '1') mains = true
      if (type === 'Battery' && (await read(join(root, name, 'status'))) === 'Discharging') discharging = true
    }
    return { onBattery: discharging && !mains, metered: false }
  }
}

export function defaultPowerReader(platform: string): PowerReader {
  return platform === 'linux' ? linuxPowerReader() : async () => ({ onBattery: false, metered: false })
}
