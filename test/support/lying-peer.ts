// A peer that claims every piece of a torrent and answers every request with wrong bytes.
// Run as its own process: node lying-peer.ts TORRENT_FILE; prints {"port":N} when ready.
// With SHOAL_ADMISSION_KEY set it is an insider: admitted over TLS with a pass of its own, as
// an honest peer of a private release would be, and lying all the same.
import { readFileSync } from 'node:fs'
import { admitTorrent } from './admitted-torrent.ts'
import { constantStore } from './constant-store.ts'
import WebTorrent from 'webtorrent'

const torrentFile = readFileSync(process.argv[2]!)
const client = new WebTorrent({ dht: false, lsd: false, natUpnp: false, natPmp: false, utp: false, tracker: false, webSeeds: false })
const torrent = client.add(torrentFile, { store: constantStore(0x5a), skipVerify: true })
if (process.env['SHOAL_ADMISSION_KEY']) await admitTorrent(client, torrent, torrentFile)
torrent.once('ready', () => {
  const report = () => console.log(JSON.stringify({ port: client.address()!.port }))
  if (client.listening) report()
  else client.once('listening', report)
})
process.once('SIGTERM', () => client.destroy(() => process.exit(0)))
