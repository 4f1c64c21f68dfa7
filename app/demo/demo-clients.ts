import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { formatBytes } from '../../shared/units.ts'
import { launcherEnv, SHOAL_LAUNCHER } from '../cli/launcher.ts'
import { emptySourceBytes, offloadRatio, type SourceBytes } from '../engine/engine.ts'

export const clientInstall = (dir: string, n: number) => join(dir, `client-${n}`, 'install')
export const clientData = (dir: string, n: number) => join(dir, `client-${n}`, 'data')

export interface RunningSeed {
  readonly port: number
  stop(): Promise<void>
}

/** `shoal seed` for client `n`'s install, as its own process. */
export async function startSeed(dir: string, n: number, pubkey: string, extra: readonly string[] = []): Promise<RunningSeed> {
  const child = spawn(SHOAL_LAUNCHER, ['seed', '--dir', clientInstall(dir, n), '--pubkey', pubkey, '--json', ...extra], { env: launcherEnv({ ...process.env, SHOAL_DATA_DIR: clientData(dir, n) }), stdio: ['ignore', 'pipe', 'ignore'] })
  let out = ''
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', () => reject(new Error('shoal seed exited before serving')))
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const line = out.split('\n').find((l) => l.includes('"seeding"'))
      if (line) resolve((JSON.parse(line) as { port: number }).port)
    })
  })
  return {
    port,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    },
  }
}

export interface ClientState {
  readonly name: string
  done: number
  total: number
  bytes: SourceBytes
  rate: number
  finished: boolean
  error: string | undefined
}

/** Runs `shoal get` for the given clients at once (separate processes), redrawing a table as they report. */
export async function runClients(dir: string, clients: readonly number[], channelUrl: string, pubkey: string, title: string, extra: readonly string[] = []): Promise<ClientState[]> {
  const states: ClientState[] = clients.map((i) => ({ name: `client ${i}`, done: 0, total: 0, bytes: emptySourceBytes(), rate: 0, finished: false, error: undefined }))
  const tty = process.stdout.isTTY
  let drawn = 0
  const draw = () => {
    const lines = states.map((s) => {
      const pct = s.total > 0 ? ((100 * s.done) / s.total).toFixed(0) : '0'
      const status = s.error ? `failed: ${s.error}` : s.finished ? 'done' : `${formatBytes(s.rate)}/s`
      return `  ${s.name.padEnd(9)} ${pct.padStart(3)}%  ${status.padEnd(14)} cdn ${formatBytes(s.bytes.cdn).padEnd(10)} lan ${formatBytes(s.bytes.lan).padEnd(8)} wan ${formatBytes(s.bytes.wan).padEnd(8)} local ${formatBytes(s.bytes.local).padEnd(10)} offload ${(100 * offloadRatio(s.bytes)).toFixed(0)} %`
    })
    if (tty && drawn > 0) process.stdout.write(`\x1b[${drawn}A`)
    process.stdout.write(lines.map((l) => (tty ? `${l}\x1b[K` : l)).join('\n') + '\n')
    drawn = lines.length
  }
  console.log(title)
  const timer = setInterval(() => tty && draw(), 250)
  await Promise.all(
    states.map((state, k) => {
      const started = performance.now()
      const n = clients[k]!
      // The demo shows offload: on loopback the CDN outruns a peer, and the finish bound would use it.
      const child = spawn(SHOAL_LAUNCHER, ['get', channelUrl, '--pubkey', pubkey, '--dir', clientInstall(dir, n), '--json', '--finish-slip', 'off', ...extra], {
        env: launcherEnv({ ...process.env, SHOAL_DATA_DIR: clientData(dir, n) }),
        stdio: ['ignore', 'pipe', 'ignore'],
      })
      let buffered = ''
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString()
        for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
          const e = JSON.parse(buffered.slice(0, at)) as { event: string; done?: number; total?: number; totalBytes?: number; bytes?: SourceBytes; message?: string }
          buffered = buffered.slice(at + 1)
          if (e.bytes) state.bytes = e.bytes
          const received = e.bytes ? e.bytes.cdn + e.bytes.lan + e.bytes.wan : 0
          if (e.event === 'progress') Object.assign(state, { done: e.done!, total: e.total!, rate: received / Math.max(0.001, (performance.now() - started) / 1000) })
          if (e.event === 'done') Object.assign(state, { done: e.totalBytes!, total: e.totalBytes!, finished: true })
          if (e.event === 'error') state.error = e.message
        }
      })
      return new Promise((resolve) => child.once('exit', resolve))
    }),
  )
  clearInterval(timer)
  draw()
  return states
}
