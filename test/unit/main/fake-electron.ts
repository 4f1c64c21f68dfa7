// A small stand-in for the `electron` module (its binary cannot run here). It records what main/
// asks of Electron; utilityProcess.fork starts a REAL Node child with a parentPort shim, so the
// engine under test is the real one.
import { fork, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { fileURLToPath, pathToFileURL } from 'node:url'

type Handler = (event: FakeInvokeEvent, ...args: unknown[]) => unknown

export interface FakeFrame {
  url: string
}

export interface FakeInvokeEvent {
  sender: FakeWebContents
  senderFrame: FakeFrame | null
}

let nextId = 1

export class FakeWebContents extends EventEmitter {
  readonly id = nextId++
  readonly mainFrame: FakeFrame = { url: 'about:blank' }
  readonly sent: [string, unknown][] = []
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null
  permissionHandler: ((contents: unknown, permission: string, callback: (granted: boolean) => void) => void) | null = null
  destroyed = false
  readonly session = {
    setPermissionRequestHandler: (handler: NonNullable<FakeWebContents['permissionHandler']>) => {
      this.permissionHandler = handler
    },
  }
  setWindowOpenHandler(handler: NonNullable<FakeWebContents['windowOpenHandler']>): void {
    this.windowOpenHandler = handler
  }
  send(channel: string, payload: unknown): void {
    this.sent.push([channel, payload])
  }
  isDestroyed(): boolean {
    return this.destroyed
  }
  loadFile(path: string): Promise<void> {
    this.mainFrame.url = pathToFileURL(path).href
    return Promise.resolve()
  }
  /** Emits a cancellable Electron event; returns whether a listener prevented it. */
  attempt(name: string, ...args: unknown[]): boolean {
    let prevented = false
    this.emit(name, { preventDefault: () => (prevented = true) }, ...args)
    return prevented
  }
}

export class BrowserWindow extends EventEmitter {
  static readonly all: BrowserWindow[] = []
  readonly webContents = new FakeWebContents()
  visible: boolean
  destroyed = false
  focused = false

  readonly options: { show?: boolean; webPreferences?: Record<string, unknown> } & Record<string, unknown>

  constructor(options: BrowserWindow['options']) {
    super()
    this.options = options
    this.visible = options.show !== false
    BrowserWindow.all.push(this)
  }
  loadFile(path: string): Promise<void> {
    return this.webContents.loadFile(path).then(() => void this.emit('ready-to-show'))
  }
  show(): void {
    this.visible = true
  }
  hide(): void {
    this.visible = false
  }
  focus(): void {
    this.focused = true
  }
  isVisible(): boolean {
    return this.visible
  }
  isDestroyed(): boolean {
    return this.destroyed
  }
  /** What clicking the window's close button does. */
  close(): void {
    let prevented = false
    this.emit('close', { preventDefault: () => (prevented = true) })
    if (prevented) return
    this.destroyed = true
    this.webContents.destroyed = true
    this.webContents.emit('destroyed')
    this.emit('closed')
  }
}

class FakeApp extends EventEmitter {
  lockAvailable = true
  isPackaged = false
  quitCalls = 0
  appPath = fileURLToPath(new URL('../../..', import.meta.url))
  userData = '/tmp/shoal-fake-userdata'
  loginItem: Record<string, unknown> | null = null
  requestSingleInstanceLock(): boolean {
    return this.lockAvailable
  }
  quit(): void {
    this.quitCalls++
    this.emit('before-quit')
  }
  whenReady(): Promise<void> {
    return Promise.resolve()
  }
  getAppPath(): string {
    return this.appPath
  }
  getPath(_name: string): string {
    return this.userData
  }
  setLoginItemSettings(settings: Record<string, unknown>): void {
    this.loginItem = settings
  }
}
export const app = new FakeApp()

export const ipcMain = {
  handlers: new Map<string, Handler>(),
  handle(channel: string, handler: Handler): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`)
    this.handlers.set(channel, handler)
  },
  removeHandler(channel: string): void {
    this.handlers.delete(channel)
  },
  /** What ipcRenderer.invoke from `sender` does: the handler's result or its rejection. */
  async invoke(sender: FakeWebContents, frame: FakeFrame | null, channel: string, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel)
    if (!handler) throw new Error(`No handler registered for '${channel}'`)
    return await handler({ sender, senderFrame: frame }, ...args)
  },
}

export class Tray extends EventEmitter {
  static last: Tray | null = null
  tooltip = ''
  menu: { items: MenuItem[] } | null = null
  destroyed = false
  readonly image: unknown
  constructor(image: unknown) {
    super()
    this.image = image
    Tray.last = this
  }
  setToolTip(text: string): void {
    this.tooltip = text
  }
  setContextMenu(menu: { items: MenuItem[] }): void {
    this.menu = menu
  }
  destroy(): void {
    this.destroyed = true
  }
}

export interface MenuItem {
  label?: string
  type?: string
  enabled?: boolean
  click?: () => void
}
export const Menu = { buildFromTemplate: (items: MenuItem[]) => ({ items }) }
export const nativeImage = { createFromPath: (path: string) => ({ path }) }

export class Notification {
  static readonly shown: { title: string; body: string }[] = []
  static isSupported(): boolean {
    return true
  }
  readonly options: { title: string; body: string }
  constructor(options: { title: string; body: string }) {
    this.options = options
  }
  show(): void {
    Notification.shown.push(this.options)
  }
}

export const shell = {
  opened: [] as string[],
  openExternal(url: string): Promise<void> {
    this.opened.push(url)
    return Promise.resolve()
  },
}

const parentPortShim = fileURLToPath(new URL('./utility-parent-port.ts', import.meta.url))

class FakeUtilityProcess extends EventEmitter {
  readonly child: ChildProcess
  constructor(child: ChildProcess) {
    super()
    this.child = child
    child.on('message', (message) => this.emit('message', message))
    child.on('exit', (code, signal) => this.emit('exit', code ?? (signal ? 1 : 0)))
  }
  get pid(): number | undefined {
    return this.child.pid
  }
  postMessage(message: unknown): void {
    this.child.send(message as never)
  }
  kill(): boolean {
    return this.child.kill()
  }
}

export const utilityProcess = {
  forks: [] as { entry: string; args: string[]; options: Record<string, unknown> }[],
  fork(entry: string, args: string[] = [], options: { env?: Record<string, string> } & Record<string, unknown> = {}): FakeUtilityProcess {
    this.forks.push({ entry, args, options })
    const child = fork(entry, args, { execArgv: ['--import', parentPortShim], env: options.env ?? process.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    return new FakeUtilityProcess(child)
  },
}

export const contextBridge = {
  exposed: new Map<string, unknown>(),
  exposeInMainWorld(key: string, api: unknown): void {
    this.exposed.set(key, api)
  },
}

class FakeIpcRenderer extends EventEmitter {
  readonly invoked: [string, unknown[]][] = []
  invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    this.invoked.push([channel, args])
    return Promise.resolve({ channel })
  }
}
export const ipcRenderer = new FakeIpcRenderer()

/** Forget every recorded call, between tests. */
export function resetFake(): void {
  BrowserWindow.all.length = 0
  app.removeAllListeners()
  app.lockAvailable = true
  app.isPackaged = false
  app.quitCalls = 0
  app.loginItem = null
  ipcMain.handlers.clear()
  Tray.last = null
  Notification.shown.length = 0
  shell.opened.length = 0
  utilityProcess.forks.length = 0
  contextBridge.exposed.clear()
  ipcRenderer.removeAllListeners()
  ipcRenderer.invoked.length = 0
}
