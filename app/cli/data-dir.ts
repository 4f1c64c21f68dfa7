import { join } from 'node:path'

/** The OS's per-user data folder for Shoal, unless SHOAL_DATA_DIR names another. */
export function defaultDataDir(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, home: string): string {
  if (env['SHOAL_DATA_DIR']) return env['SHOAL_DATA_DIR']
  if (platform === 'win32') return join(env['LOCALAPPDATA'] ?? join(home, 'AppData', 'Local'), 'Shoal')
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'Shoal')
  return join(env['XDG_DATA_HOME'] || join(home, '.local', 'share'), 'shoal')
}
