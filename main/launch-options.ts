// What the command line asks of this launch. `--hidden` comes from the login item and the
// background updater: start the engine and the tray, open no window.
export interface LaunchOptions {
  readonly hidden: boolean
}

export function parseLaunchOptions(argv: readonly string[]): LaunchOptions {
  return { hidden: argv.includes('--hidden') }
}

/** Arguments the login item starts Shoal with. */
export const LOGIN_ITEM_ARGS = ['--hidden'] as const
