// Drives test/bench/libtorrent-peer.py, the libtorrent reference peer of the bench's hybrid case,
// with Debian's /usr/bin/python3 (python3-libtorrent, installed by .ci/setup): a pyenv `python3`
// earlier on PATH has no libtorrent module.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const SCRIPT = fileURLToPath(new URL('./libtorrent-peer.py', import.meta.url))
const PYTHON = '/usr/bin/python3'

export type LibtorrentMode = 'seed' | 'leech'

export interface LibtorrentOptions {
  readonly torrent: string
  /** save_path: holds the complete data when seeding, receives it when leeching. */
  readonly dir: string
  /** Listen port on 127.0.0.1; 0 (the default) lets the OS pick, reported by the "seeding" event. */
  readonly port?: number
  /** HOST:PORT of the peers a leecher dials. */
  readonly peers?: readonly string[]
  /** MSE/PE, as Shoal's --peer-encryption; `off` (plaintext) when unset. */
  readonly encryption?: 'off' | 'prefer' | 'require'
}

export interface LibtorrentPeer {
  readonly pid: number
  /** The first JSON line with this event: "seeding", "done", "stopped" or "error". */
  waitFor(event: string): Promise<Record<string, unknown>>
  readonly exit: Promise<number | null>
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>
}

export function startLibtorrent(mode: LibtorrentMode, o: LibtorrentOptions): LibtorrentPeer {
  const args = [SCRIPT, '--mode', mode, '--torrent', o.torrent, '--dir', o.dir, '--encryption', o.encryption ?? 'off']
  if (o.port !== undefined) args.push('--port', String(o.port))
  for (const peer of o.peers ?? []) args.push('--peer', peer)
  const child: ChildProcess = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const events: Record<string, unknown>[] = []
  const waiting = new Map<string, ((e: Record<string, unknown>) => void)[]>()
  let buffered = ''
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString()
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i)
      buffered = buffered.slice(i + 1)
      if (!line.startsWith('{')) continue
      const e = JSON.parse(line) as Record<string, unknown>
      events.push(e)
      for (const resolve of waiting.get(e['event'] as string) ?? []) resolve(e)
      waiting.delete(e['event'] as string)
    }
  })
  const exit = new Promise<number | null>((resolve) => {
    // "close", not "exit": stdout is drained by then, so a last "done" line is never missed.
    child.once('close', (code) => resolve(code))
    // A missing /usr/bin/python3 fails the spawn itself: settle here too.
    child.once('error', () => resolve(null))
  })
  return {
    pid: child.pid ?? -1,
    waitFor: (event) => {
      const found = events.find((e) => e['event'] === event)
      if (found) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        waiting.set(event, [...(waiting.get(event) ?? []), resolve])
        void exit.then((code) => {
          const error = events.find((e) => e['event'] === 'error')
          reject(new Error(`libtorrent-peer.py --mode ${mode} exited (${code}) before "${event}"${error ? `: ${String(error['message'])}` : ''}`))
        })
      })
    },
    exit,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exit
    },
  }
}
