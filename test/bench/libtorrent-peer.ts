// Drives test/bench/libtorrent-peer.py, the libtorrent reference peer of the bench's hybrid case,
// with Debian's /usr/bin/python3 (python3-libtorrent, installed by .ci/setup): a pyenv `python3`
// earlier on PATH has no libtorrent module.
import { jsonProcess, type JsonProcess } from './json-process.ts'
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
  /** Upload cap, bytes per second, loopback peers included; none when unset. */
  readonly uploadLimit?: number
}

export function startLibtorrent(mode: LibtorrentMode, o: LibtorrentOptions): JsonProcess {
  const args = [SCRIPT, '--mode', mode, '--torrent', o.torrent, '--dir', o.dir, '--encryption', o.encryption ?? 'off']
  if (o.port !== undefined) args.push('--port', String(o.port))
  for (const peer of o.peers ?? []) args.push('--peer', peer)
  if (o.uploadLimit) args.push('--upload-limit', String(o.uploadLimit))
  return jsonProcess(PYTHON, args)
}
