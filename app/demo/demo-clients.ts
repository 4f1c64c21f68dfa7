import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatBytes } from '../../shared/units.ts'
import type { SourceBytes } from '../engine/stats/source-bytes.ts'

const CLI = fileURLToPath(new URL('../cli/shoal.ts', import.meta.url))

export interface ClientState {
  readonly name: string
  done: number
  total: number
  bytes: SourceBytes
  rate: number
  finished: boolean
  error: string | undefined
}

/** Runs `shoal get` for every client at once (separate processes), redrawing a table as they report. */
export async function runClients(dir: string, count: number, channelUrl: string, pubkey: string, title: string): Promise<ClientState[]> {
  const states: ClientState[] = Array.from({ length: count }, (_, i) => ({ name: `client ${i + 1}`, done: 0, total: 0, bytes: { cdn: 0, lan: 0, wan: 0, local: 0 }, rate: 0, finished: false, error: undefined }))
  const tty = process.stdout.isTTY
  let drawn = 0
  const draw = () => {
    const lines = states.map((s) => {
      const pct = s.total > 0 ? ((100 * s.done) / s.total).toFixed(0) : '0'
      const status = s.error ? `failed: ${s.error}` : s.finished ? 'done' : `${formatBytes(s.rate)}/s`
      return `  ${s.name.padEnd(9)} ${pct.padStart(3)}%  ${status.padEnd(14)} cdn ${formatBytes(s.bytes.cdn).padEnd(10)} lan ${formatBytes(s.bytes.lan).padEnd(8)} wan ${formatBytes(s.bytes.wan).padEnd(8)} local ${formatBytes(s.bytes.local)}`
    })
    if (tty && drawn > 0) process.stdout.write(`\x1b[${drawn}A`)
    process.stdout.write(lines.map((l) => (tty ? `${l}\x1b[K` : l)).join('\n') + '\n')
    drawn = lines.length
  }
  console.log(title)
  const timer = setInterval(() => tty && draw(), 250)
  await Promise.all(
    states.map((state, i) => {
      const started = performance.now()
      const child = spawn(process.execPath, [CLI, 'get', channelUrl, '--pubkey', pubkey, '--dir', join(dir, `client-${i + 1}`, 'install'), '--json'], {
        env: { ...process.env, SHOAL_DATA_DIR: join(dir, `client-${i + 1}`, 'data') },
        stdio: ['ignore', 'pipe', 'ignore'],
      })
      let buffered = ''
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString()
        for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
          const e = JSON.parse(buffered.slice(0, at)) as { event: string; done?: number; total?: number; totalBytes?: number; bytes?: SourceBytes; message?: string }
          buffered = buffered.slice(at + 1)
          if (e.bytes) state.bytes = e.bytes
          if (e.event === 'progress') Object.assign(state, { done: e.done!, total: e.total!, rate: e.bytes!.cdn / Math.max(0.001, (performance.now() - started) / 1000) })
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
