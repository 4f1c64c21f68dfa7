import { describe, expect, it } from 'vitest'
import { defaultDataDir } from '../../app/cli/data-dir.ts'
import { runCli } from '../support/run-cli.ts'

describe('data dir', () => {
  it("uses SHOAL_DATA_DIR, else the OS's per-user data folder", () => {
    expect(defaultDataDir('linux', { SHOAL_DATA_DIR: '/srv/shoal' }, '/home/a')).toBe('/srv/shoal')
    expect(defaultDataDir('linux', {}, '/home/a')).toBe('/home/a/.local/share/shoal')
    expect(defaultDataDir('linux', { XDG_DATA_HOME: '/x' }, '/home/a')).toBe('/x/shoal')
    expect(defaultDataDir('darwin', {}, '/Users/a')).toBe('/Users/a/Library/Application Support/Shoal')
    expect(defaultDataDir('win32', { LOCALAPPDATA: 'C:\\Users\\a\\AppData\\Local' }, 'C:\\Users\\a')).toMatch(/AppData.Local.Shoal$/)
  })
})

describe('CLI', () => {
  it('takes --json before or after the command, and --help exits 0', async () => {
    for (const args of [['--json', 'inspect', '/nonexistent.json', '--pubkey', '/nonexistent.pub'], ['inspect', '/nonexistent.json', '--pubkey', '/nonexistent.pub', '--json']]) {
      const run = await runCli(args)
      expect(run.code).toBe(1)
      expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toMatchObject({ event: 'error', code: 'E_KEY' })
    }
    const help = await runCli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/keygen[\s\S]*publish[\s\S]*inspect/)
  })
})
