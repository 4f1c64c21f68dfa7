// `shoal get` as the CDN benches run it: a child process started through bin/shoal, as users start it.
import { spawn } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { launcherEnv, SHOAL_LAUNCHER } from '../../app/cli/launcher.ts'
import type { Nginx } from '../support/nginx.ts'

export type GetEvent = Record<string, unknown>

/** `shoal get` as a child process, reporting each JSON line as it arrives. */
export function shoalGet(args: string[], dataDir: string, onEvent: (e: GetEvent, seconds: number) => void): { done: Promise<GetEvent>; kill: () => void } {
  const started = performance.now()
  // Through the launcher, as users start it: its heap and malloc settings are part of the figures.
  const child = spawn(SHOAL_LAUNCHER, ['get', ...args, '--json'], { env: launcherEnv({ ...process.env, SHOAL_DATA_DIR: dataDir }), stdio: ['ignore', 'pipe', 'inherit'] })
  let buffered = ''
  let last: GetEvent = {}
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString()
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      last = JSON.parse(buffered.slice(0, i)) as GetEvent
      buffered = buffered.slice(i + 1)
      onEvent(last, (performance.now() - started) / 1000)
    }
  })
  return { done: new Promise((resolve) => child.once('exit', () => resolve(last))), kill: () => child.kill('SIGKILL') }
}

/** `shoal get` of `product`'s stable channel into `work/name` (data in `work/name-data`), to the end; throws unless it ends with `done`. */
export async function getInto(nginx: Nginx, pub: string, work: string, name: string, o: { extra?: readonly string[]; product?: string } = {}): Promise<GetEvent> {
  const pointer = `${nginx.url}/${o.product ?? 'bench'}/channels/stable.json`
  const result = await shoalGet([pointer, '--pubkey', pub, '--dir', join(work, name), ...(o.extra ?? [])], join(work, `${name}-data`), () => undefined).done
  if (result['event'] !== 'done') throw new Error(`shoal get failed: ${JSON.stringify(result)}`)
  return result
}

/** A first install: whatever an earlier run left in `work/name` (the install, its previous copy, its data) is removed first. */
export async function freshGet(nginx: Nginx, pub: string, work: string, name: string, o: { extra?: readonly string[]; product?: string } = {}): Promise<GetEvent> {
  for (const p of [join(work, name), join(work, `.${name}.shoal-previous`), join(work, `${name}-data`)]) await rm(p, { recursive: true, force: true })
  return getInto(nginx, pub, work, name, o)
}
