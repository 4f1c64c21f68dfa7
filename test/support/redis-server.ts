// Debian's redis-server on 127.0.0.1, on a free port, with a private config and folder and no
// persistence, for one test file. Never a shared or fixed port: other suites run beside us.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.ts'

export interface TestRedis {
  readonly port: number
  readonly url: string
  /** The running server's process id (the bench reads its CPU time). */
  pid(): number
  /** Stops it (SIGKILL when `hard`), losing everything: there is no persistence. */
  stop(hard?: boolean): Promise<void>
  /** Starts it again on the same port, empty. */
  start(): Promise<void>
  /** Stops it and removes its folder. */
  dispose(): Promise<void>
}

/** Spawns redis-server and resolves once it accepts connections. */
function launch(port: number, dir: string): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'yes', '--loglevel', 'notice', '--logfile', '']
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('Ready to accept connections')) resolve(child)
    })
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-500)}`)))
  })
}

export async function startRedis(port?: number): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-redis-'))
  const p = port ?? (await freePort())
  let child: ChildProcess | undefined = await launch(p, dir)
  const stop = async (hard = false) => {
    const c = child
    child = undefined
    if (!c || c.exitCode !== null) return
    const exited = new Promise((r) => c.once('exit', r))
    c.kill(hard ? 'SIGKILL' : 'SIGTERM')
    await exited
  }
  return {
    port: p,
    url: `redis://127.0.0.1:${p}`,
    pid: () => child?.pid ?? -1,
    stop,
    start: async () => {
      child = await launch(p, dir)
    },
    dispose: async () => {
      await stop(true)
      await rm(dir, { recursive: true, force: true })
    },
  }
}
