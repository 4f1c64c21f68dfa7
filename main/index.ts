import { app, BrowserWindow } from 'electron'
import { join } from 'node:path'

// Thin shell: the desktop issue adds the tray, the utilityProcess engine and typed IPC.
function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1000,
    height: 700,
    webPreferences: { sandbox: true, contextIsolation: true, nodeIntegration: false },
  })
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }))
  win.webContents.on('will-navigate', (event) => event.preventDefault())
  void win.loadFile(join(import.meta.dirname, '..', 'renderer', 'dist', 'index.html'))
  return win
}

if (!app.requestSingleInstanceLock()) app.quit()
else void app.whenReady().then(createWindow)
