// The one window: sandboxed, isolated, no Node, and unable to navigate away or open others.
import { BrowserWindow, shell, type WebContents } from 'electron'

export interface SecureWindowOptions {
  readonly rendererIndex: string
  readonly rendererUrl: string
  readonly preload: string
  readonly show: boolean
}

/** Locks a WebContents to the packaged renderer: no navigation, no new windows, no webviews, no permissions. */
export function guardContents(contents: WebContents, rendererUrl: string): void {
  contents.setWindowOpenHandler(({ url }) => {
    // Links to the web open in the user's browser, never inside Shoal.
    if (url.startsWith('https://')) void shell.openExternal(url)
    return { action: 'deny' }
  })
  contents.on('will-navigate', (event, url) => {
    if (url !== rendererUrl) event.preventDefault()
  })
  contents.on('will-redirect', (event) => event.preventDefault())
  contents.on('will-attach-webview', (event) => event.preventDefault())
  contents.session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
}

export function createSecureWindow(options: SecureWindowOptions): BrowserWindow {
  const win = new BrowserWindow({
    width: 1100,
    height: 760,
    minWidth: 760,
    minHeight: 520,
    show: options.show,
    title: 'Shoal',
    webPreferences: {
      preload: options.preload,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webviewTag: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      spellcheck: false,
    },
  })
  guardContents(win.webContents, options.rendererUrl)
  void win.loadFile(options.rendererIndex)
  return win
}
