// Where the built pieces live, relative to the app root (the repo when run from source, the asar
// archive when packaged). `npm run build:desktop` writes out/main; Vite writes renderer/dist.
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

export interface AppPaths {
  readonly rendererIndex: string
  /** The URL the renderer's frame must have for IPC to be accepted. */
  readonly rendererUrl: string
  readonly preload: string
  readonly engineEntry: string
  readonly trayIcon: string
}

export function appPaths(appRoot: string): AppPaths {
  const rendererIndex = join(appRoot, 'renderer', 'dist', 'index.html')
  return {
    rendererIndex,
    rendererUrl: pathToFileURL(rendererIndex).href,
    preload: join(appRoot, 'out', 'main', 'preload.cjs'),
    engineEntry: join(appRoot, 'out', 'main', 'engine-entry.js'),
    trayIcon: join(appRoot, 'resources', 'tray.png'),
  }
}
