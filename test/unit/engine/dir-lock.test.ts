import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { lockInstallDir } from '../../../app/engine/install/dir-lock.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()
const LOCK = new URL('../../../app/engine/install/dir-lock.ts', import.meta.url).href
const children: ChildProcess[] = []
afterEach(() => Promise.all(children.splice(0).map((c) => kill(c))))

/** A process that tries the lock, prints "locked" or the error code, and holds what it got until killed. */
function taker(lockPath: string): { child: ChildProcess; said: Promise<string> } {
  const code = `import { lockInstallDir } from '${LOCK}'
// Held in a global: a dropped unlock function lets the collector close the connection.
try { globalThis.held = lockInstallDir(${JSON.stringify(lockPath)}, 'install'); console.log('locked') } catch (e) { console.log(e.code) }
setInterval(() => {}, 1000)`
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  const said = new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())))
  return { child, said }
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL')
    await once(child, 'exit')
  }
}

describe('lockInstallDir', () => {
  it('is held by one taker at a time in one process, and free again once released', async () => {
    const path = join(await tempDir(), 'sub', '.install.shoal-lock')
    const unlock = lockInstallDir(path, 'install')
    expect(() => lockInstallDir(path, 'install')).toThrow(expect.objectContaining({ code: 'E_BUSY' }))
    unlock()
    lockInstallDir(path, 'install')()
  })

  it('a holder killed with SIGKILL leaves no stale lock, and of many racing takers exactly one wins', async () => {
    const path = join(await tempDir(), '.install.shoal-lock')
    const first = taker(path)
    expect(await first.said).toBe('locked')
    const blocked = taker(path)
    expect(await blocked.said).toBe('E_BUSY')
    await kill(blocked.child)
    await kill(first.child)
    const said = await Promise.all(Array.from({ length: 4 }, () => taker(path).said))
    expect(said.filter((s) => s === 'locked')).toHaveLength(1)
    expect(said.filter((s) => s === 'E_BUSY')).toHaveLength(3)
  })
})
