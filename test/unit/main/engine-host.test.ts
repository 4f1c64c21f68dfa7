// The real engine (main/engine-entry.ts → the agent from app/) in a utility process; only
// Electron is faked, and its utilityProcess.fork starts a real Node child.
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ApiEvent, SettingsView, Status } from '../../../shared/api-contract.ts'
import { createBridgeClient } from '../../../shared/ipc-contract.ts'
import { useTempDirs } from '../../support/temp-dir.ts'
import * as electron from './fake-electron.ts'

vi.mock('electron', () => import('./fake-electron.ts'))
const { startEngine } = await import('../../../main/engine-host.ts')
const { registerIpc } = await import('../../../main/ipc-router.ts')
const { startDesktop } = await import('../../../main/desktop-app.ts')

const ENTRY = fileURLToPath(new URL('../../../main/engine-entry.ts', import.meta.url))
const tempDir = useTempDirs()

describe('engine in a utility process', () => {
  const stops: (() => void)[] = []
  beforeEach(() => electron.resetFake())
  afterEach(() => {
    for (const stop of stops.splice(0)) stop()
  })

  it('serves the window through IPC, pushes events, and comes back after a crash with its settings', async () => {
    const dir = await tempDir()
    const dataDir = join(dir, 'engine')
    const host = startEngine({ entry: ENTRY, args: ['--data-dir', dataDir, '--policy', join(dir, 'no-policy.json')], restartDelayMs: 100 })
    stops.push(() => host.stop())
    await host.ready
    const first = await host.client.status()
    expect(first).toMatchObject({ apiVersion: 1, paused: false, policy: { loaded: false } })

    const events: ApiEvent[] = []
    host.client.subscribe((e) => events.push(e))
    const rendererUrl = 'file:///app/renderer/dist/index.html'
    const router = registerIpc({ client: () => host.client, rendererUrl })
    stops.push(() => router.dispose())
    const win = new electron.FakeWebContents()
    win.mainFrame.url = rendererUrl
    const view = (await electron.ipcMain.invoke(win, win.mainFrame, 'shoal:patch-settings', { caps: { down: { global: 7_000_000 } } })) as SettingsView
    expect(view.settings.caps.down.global).toBe(7_000_000)
    await expect.poll(() => events.some((e) => e.type === 'settings' && e.settings.caps.down.global === 7_000_000)).toBe(true)
    await electron.ipcMain.invoke(win, win.mainFrame, 'shoal:subscribe', true)
    expect(win.sent[0]).toMatchObject(['shoal:event', { type: 'snapshot', status: { settings: { caps: { down: { global: 7_000_000 } } } } }])

    const { pid } = JSON.parse(await readFile(join(dataDir, 'agent.json'), 'utf8')) as { pid: number }
    process.kill(pid, 'SIGKILL')
    await expect.poll(async () => (await host.client.status()).startedAt, { timeout: 20_000, interval: 200 }).not.toBe(first.startedAt)
    expect((await host.client.status()).settings.caps.down.global).toBe(7_000_000)
    expect(electron.utilityProcess.forks.length).toBe(2)
  })

  it("the renderer's transport works end to end: bridge client → preload channels → router → engine", async () => {
    const dir = await tempDir()
    const host = startEngine({ entry: ENTRY, args: ['--data-dir', join(dir, 'engine'), '--policy', join(dir, 'no-policy.json')] })
    stops.push(() => host.stop())
    host.client.subscribe((event) => router.broadcast(event))
    const rendererUrl = 'file:///app/renderer/dist/index.html'
    const router = registerIpc({ client: () => host.client, rendererUrl })
    stops.push(() => router.dispose())
    const win = new electron.FakeWebContents()
    win.mainFrame.url = rendererUrl
    const listeners = new Set<(event: unknown) => void>()
    win.send = (_channel: string, payload: unknown) => listeners.forEach((l) => l(payload))
    // What the preload hands the page, with ipcRenderer.invoke → ipcMain standing in for Electron's pipe.
    const client = createBridgeClient({
      invoke: (channel, ...args) => electron.ipcMain.invoke(win, win.mainFrame, channel, ...args),
      onEvent: (listener) => {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
    })
    const events: ApiEvent[] = []
    const unsubscribe = client.subscribe((e) => events.push(e))
    await expect.poll(() => events[0]?.type, { timeout: 20_000 }).toBe('snapshot')
    expect((await client.status()).apiVersion).toBe(1)
    await client.patchSettings({ sharing: { consentGiven: true, mode: 'lan' } })
    await expect.poll(() => events.some((e) => e.type === 'settings' && e.settings.sharing.consentGiven)).toBe(true)
    await client.setPausedAll(true)
    expect((await client.status()).paused).toBe(true)
    await expect(client.jobAction('no-such-job', 'pause')).rejects.toThrow()
    unsubscribe()
  })

  it('the tray shows the engine state and pauses everything', async () => {
    const dir = await tempDir()
    const appRoot = join(dir, 'app')
    await mkdir(join(appRoot, 'out', 'main'), { recursive: true })
    await writeFile(join(appRoot, 'out', 'main', 'engine-entry.js'), `import ${JSON.stringify(pathToFileURL(ENTRY).href)}\n`)
    electron.app.userData = join(dir, 'user-data')
    const desktop = (await startDesktop({ argv: ['shoal', '--hidden'], appRoot, engineEnv: { ...process.env, SHOAL_POLICY: join(dir, 'no-policy.json') } as Record<string, string> }))!
    stops.push(() => electron.app.quit())
    const items = () => electron.Tray.last!.menu!.items
    await expect.poll(() => items()[0]!.label, { timeout: 20_000 }).toBe('Up to date')
    items().find((i) => i.label === 'Pause all')!.click!()
    await expect.poll(async () => ((await desktop.engine.client.status()) as Status).paused).toBe(true)
    await expect.poll(() => items().map((i) => i.label)).toContain('Resume all')
    expect(items()[0]!.label).toBe('Paused')
    expect(electron.Tray.last!.tooltip).toBe('Shoal: Paused')
    expect(electron.BrowserWindow.all).toHaveLength(0)
  })
})
