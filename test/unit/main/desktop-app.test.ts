import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { useTempDirs } from '../../support/temp-dir.ts'
import * as electron from './fake-electron.ts'

vi.mock('electron', () => import('./fake-electron.ts'))
const { startDesktop } = await import('../../../main/desktop-app.ts')

const tempDir = useTempDirs()

/** An app root whose engine entry only idles: these tests are about the shell, not the engine. */
async function appRoot(): Promise<string> {
  const root = await tempDir()
  await mkdir(join(root, 'out', 'main'), { recursive: true })
  await mkdir(join(root, 'renderer', 'dist'), { recursive: true })
  await writeFile(join(root, 'out', 'main', 'engine-entry.js'), 'setInterval(() => {}, 1 << 30)\n')
  await writeFile(join(root, 'renderer', 'dist', 'index.html'), '<!doctype html>')
  return root
}

const menuLabels = () => electron.Tray.last!.menu!.items.map((i) => i.label ?? i.type)
const click = (label: string) => electron.Tray.last!.menu!.items.find((i) => i.label === label)!.click!()
const settle = () => new Promise((resolve) => setTimeout(resolve, 10))

describe('desktop shell (Electron faked, engine process real)', () => {
  beforeEach(() => electron.resetFake())
  afterEach(() => {
    electron.app.quit()
  })

  it('a second instance quits at once and opens nothing', async () => {
    electron.app.lockAvailable = false
    expect(await startDesktop({ argv: ['electron', '.'], appRoot: await appRoot() })).toBeNull()
    expect(electron.app.quitCalls).toBe(1)
    expect(electron.BrowserWindow.all).toHaveLength(0)
    expect(electron.utilityProcess.forks).toHaveLength(0)
  })

  it('--hidden starts the engine in a utility process and the tray, with no window; a later plain launch opens it', async () => {
    const root = await appRoot()
    const desktop = await startDesktop({ argv: ['shoal', '--hidden'], appRoot: root })
    expect(desktop).not.toBeNull()
    expect(electron.BrowserWindow.all).toHaveLength(0)
    expect(electron.utilityProcess.forks).toHaveLength(1)
    expect(electron.utilityProcess.forks[0]!.entry).toBe(join(root, 'out', 'main', 'engine-entry.js'))
    expect(electron.utilityProcess.forks[0]!.args).toEqual(['--data-dir', join(electron.app.userData, 'engine')])
    expect(menuLabels()).toEqual(['Starting…', 'separator', 'Pause all', 'Open Shoal', 'separator', 'Quit Shoal'])

    electron.app.emit('second-instance', {}, ['shoal', '--hidden'])
    expect(electron.BrowserWindow.all).toHaveLength(0)
    electron.app.emit('second-instance', {}, ['shoal'])
    expect(electron.BrowserWindow.all).toHaveLength(1)
  })

  it('opens one sandboxed, isolated window without Node; closing hides it, Quit really closes', async () => {
    const root = await appRoot()
    const desktop = (await startDesktop({ argv: ['shoal'], appRoot: root }))!
    await settle()
    const win = electron.BrowserWindow.all[0]!
    expect(win.options.webPreferences).toMatchObject({
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      webviewTag: false,
      preload: join(root, 'out', 'main', 'preload.cjs'),
    })
    expect(win.webContents.mainFrame.url).toBe(pathToFileURL(join(root, 'renderer', 'dist', 'index.html')).href)
    expect(win.isVisible()).toBe(true)

    win.close()
    expect(win.isDestroyed()).toBe(false)
    expect(win.isVisible()).toBe(false)
    click('Open Shoal')
    expect(electron.BrowserWindow.all).toHaveLength(1)
    expect(win.isVisible()).toBe(true)
    expect(desktop.window()).toBe(win)

    click('Quit Shoal')
    expect(electron.app.quitCalls).toBe(1)
    expect(electron.Tray.last!.destroyed).toBe(true)
    win.close()
    expect(win.isDestroyed()).toBe(true)
  })

  it('the window cannot navigate away, open windows, attach webviews or get permissions', async () => {
    await startDesktop({ argv: ['shoal'], appRoot: await appRoot() })
    await settle()
    const contents = electron.BrowserWindow.all[0]!.webContents
    electron.app.emit('web-contents-created', {}, contents)
    expect(contents.attempt('will-navigate', 'https://evil.example/')).toBe(true)
    expect(contents.attempt('will-navigate', contents.mainFrame.url)).toBe(false)
    expect(contents.attempt('will-redirect', 'https://evil.example/')).toBe(true)
    expect(contents.attempt('will-attach-webview', {}, {})).toBe(true)
    expect(contents.windowOpenHandler!({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' })
    expect(contents.windowOpenHandler!({ url: 'https://shoal.dev/help' })).toEqual({ action: 'deny' })
    expect(electron.shell.opened).toEqual(['https://shoal.dev/help'])
    const granted: boolean[] = []
    contents.permissionHandler!(contents, 'media', (g) => granted.push(g))
    expect(granted).toEqual([false])
  })

  it('an installed app registers a login item that starts hidden; a dev run does not', async () => {
    await startDesktop({ argv: ['shoal'], appRoot: await appRoot() })
    expect(electron.app.loginItem).toBeNull()
    electron.app.quit()
    electron.resetFake()
    electron.app.isPackaged = true
    await startDesktop({ argv: ['shoal', '--hidden'], appRoot: await appRoot() })
    expect(electron.app.loginItem).toEqual({ openAtLogin: true, args: ['--hidden'] })
  })
})
