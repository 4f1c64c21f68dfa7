// The composition root of the desktop app: single instance, engine in a utility process, IPC,
// tray, notifications, the window (closing it hides it), and the login item.
import { app, BrowserWindow, Notification } from 'electron'
import { join } from 'node:path'
import { appPaths } from './app-paths.ts'
import { createAppTray, type AppTray } from './app-tray.ts'
import { startEngine, type EngineHost } from './engine-host.ts'
import { registerIpc } from './ipc-router.ts'
import { LOGIN_ITEM_ARGS, parseLaunchOptions } from './launch-options.ts'
import { createSecureWindow, guardContents } from './secure-window.ts'
import { TrayModel } from './tray-status.ts'
import { UpdateNotices } from './update-notices.ts'

export interface Desktop {
  readonly engine: EngineHost
  readonly tray: AppTray
  openWindow(): BrowserWindow
  window(): BrowserWindow | null
}

export interface DesktopOptions {
  readonly argv: readonly string[]
  /** The app root; defaults to app.getAppPath(). */
  readonly appRoot?: string
  readonly engineEnv?: Record<string, string>
}

export async function startDesktop(options: DesktopOptions): Promise<Desktop | null> {
  if (!app.requestSingleInstanceLock()) {
    app.quit()
    return null
  }
  const launch = parseLaunchOptions(options.argv)
  const paths = appPaths(options.appRoot ?? app.getAppPath())
  // Registering the dev build's Electron binary as a login item would be wrong; only installs do it.
  if (app.isPackaged) app.setLoginItemSettings({ openAtLogin: true, args: [...LOGIN_ITEM_ARGS] })

  app.on('web-contents-created', (_event, contents) => guardContents(contents, paths.rendererUrl))
  // Closing the last window keeps Shoal in the tray; only Quit ends it.
  app.on('window-all-closed', () => {})

  await app.whenReady()

  const engine = startEngine({
    entry: paths.engineEntry,
    args: ['--data-dir', join(app.getPath('userData'), 'engine')],
    ...(options.engineEnv ? { env: options.engineEnv } : {}),
  })
  const router = registerIpc({ client: () => engine.client, rendererUrl: paths.rendererUrl })

  let win: BrowserWindow | null = null
  let quitting = false
  const openWindow = (): BrowserWindow => {
    if (!win || win.isDestroyed()) {
      const created = createSecureWindow({ rendererIndex: paths.rendererIndex, rendererUrl: paths.rendererUrl, preload: paths.preload, show: false })
      created.on('close', (event) => {
        if (quitting) return
        event.preventDefault()
        created.hide()
      })
      created.once('ready-to-show', () => created.show())
      win = created
    } else {
      win.show()
      win.focus()
    }
    return win
  }

  const tray = createAppTray({
    icon: paths.trayIcon,
    onOpen: () => void openWindow(),
    onPauseAll: (paused) => void engine.client.setPausedAll(paused).catch(() => {}),
    onQuit: () => app.quit(),
  })

  const model = new TrayModel()
  const notices = new UpdateNotices()
  engine.client.subscribe((event) => {
    router.broadcast(event)
    tray.update(model.apply(event))
    if (Notification.isSupported()) for (const notice of notices.next(event)) new Notification(notice).show()
  })
  void engine.ready.then(async () => {
    const status = await engine.client.status()
    tray.update(model.apply({ type: 'snapshot', status }))
    notices.next({ type: 'snapshot', status })
  })

  app.on('second-instance', (_event, argv) => {
    if (!parseLaunchOptions(argv).hidden) openWindow()
  })
  app.on('activate', () => void openWindow())
  app.on('before-quit', () => {
    quitting = true
    router.dispose()
    engine.stop()
    tray.destroy()
  })

  if (!launch.hidden) openWindow()
  return { engine, tray, openWindow, window: () => win }
}
