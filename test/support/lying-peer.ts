// A peer that claims every piece of a torrent and answers every request with wrong bytes.
// Run as its own process: node lying-peer.ts TORRENT_FILE; prints {"port":N} when ready.
// With SHOAL_ADMISSION_KEY set it is an insider: admitted over TLS with a pass of its own, as
// an honest peer of a private release would be, and lying all the same.
import { readFileSync } from 'node:fs'
import { admitTorrent } from './admitted-torrent.ts'
import WebTorrent from 'webtorrent'

type Callback<T = void> = (err: Error | null, value?: T) => void

class LyingStore {
  readonly chunkLength: number
  private readonly length: number
  constructor(chunkLength: number, opts: { length: number }) {
    this.chunkLength = chunkLength
    this.length = opts.length
  }
  put(_index: number, _buf: Uint8Array, cb?: Callback): void {
    cb?.(null)
  }
  get(index: number, opts: { offset?: number; length?: number } | Callback<Uint8Array> | null, callback?: Callback<Uint8Array>): void {
    const cb = typeof opts === 'function' ? opts : callback!
    const range = typeof opts === 'function' ? null : opts
    const size = Math.min(this.chunkLength, this.length - index * this.chunkLength)
    const lie = Buffer.alloc(size, 0x5a)
    const offset = range?.offset ?? 0
    cb(null, lie.subarray(offset, offset + (range?.length ?? size - offset)))
  }
  close(cb?: Callback): void {
    cb?.(null)
  }
  destroy(cb?: Callback): void {
    cb?.(null)
  }
}

const torrentFile = readFileSync(process.argv[2]!)
const client = new WebTorrent({ dht: false, lsd: false, natUpnp: false, natPmp: false, utp: false, tracker: false, webSeeds: false })
const torrent = client.add(torrentFile, { store: LyingStore, skipVerify: true })
if (process.env['SHOAL_ADMISSION_KEY']) await admitTorrent(client, torrent, torrentFile)
torrent.once('ready', () => {
  const report = () => console.log(JSON.stringify({ port: client.address()!.port }))
  if (client.listening) report()
  else client.once('listening', report)
})
process.once('SIGTERM', () => client.destroy(() => process.exit(0)))
