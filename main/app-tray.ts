// The tray: what Shoal is doing, pause/resume all, open, quit. Works with no window open.
import { Menu, nativeImage, Tray } from 'electron'
import type { TrayStatus } from './tray-status.ts'

export interface AppTrayOptions {
  readonly icon: string
  readonly onOpen: () => void
  readonly onPauseAll: (paused: boolean) => void
  readonly onQuit: () => void
}

export interface AppTray {
  update(status: TrayStatus): void
  destroy(): void
}

export function createAppTray(options: AppTrayOptions): AppTray {
  const tray = new Tray(nativeImage.createFromPath(options.icon))
  tray.on('click', options.onOpen)
  const update = (status: TrayStatus): void => {
    tray.setToolTip(`Shoal: ${status.line}`)
    tray.setContextMenu(
      Menu.buildFromTemplate([
        { label: status.line, enabled: false },
        { type: 'separator' },
        { label: status.paused ? 'Resume all' : 'Pause all', click: () => options.onPauseAll(!status.paused) },
        { label: 'Open Shoal', click: options.onOpen },
        { type: 'separator' },
        { label: 'Quit Shoal', click: options.onQuit },
      ]),
    )
  }
  update({ line: 'Starting…', paused: false })
  return { update, destroy: () => tray.destroy() }
}
