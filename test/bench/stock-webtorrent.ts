// Stock webtorrent as the swarm bench's reference: a seeder of the raw pack, or a leecher
// with the CDN as an ordinary web seed. Only loopback: DHT, LSD, UPnP, NAT-PMP and uTP off.
// Prints JSON lines: {"event":"seeding"} or {"event":"done",...}.
import { readFile } from 'node:fs/promises'
import { Command } from 'commander'
import { peakRssBytes } from '../../app/cli/peak-rss.ts'
import WebTorrent, { type Torrent } from 'webtorrent'

const o = new Command('stock-webtorrent')
  .requiredOption('--mode <mode>', 'seed or leech')
  .requiredOption('--torrent <file>', '.torrent file')
  .requiredOption('--dir <dir>', 'folder holding (or receiving) the torrent file')
  .requiredOption('--tracker <url>', 'announce URL')
  .option('--web-seed <url>', 'the CDN URL of the raw pack')
  .parse()
  .opts<{ mode: 'seed' | 'leech'; torrent: string; dir: string; tracker: string; webSeed?: string }>()

const started = performance.now()
const client = new WebTorrent({ dht: false, lsd: false, natUpnp: false, natPmp: false, utp: false, webSeeds: true })
const torrent: Torrent = client.add(await readFile(o.torrent), { path: o.dir, announce: [o.tracker] })
const print = (event: string, fields: Record<string, unknown> = {}) => console.log(JSON.stringify({ event, ...fields }))
torrent.once('ready', () => {
  if (o.webSeed) torrent.addWebSeed(o.webSeed)
  if (o.mode === 'seed') print('seeding')
})
if (o.mode === 'leech') {
  torrent.once('done', () => {
    print('done', { seconds: (performance.now() - started) / 1000, peakRssBytes: peakRssBytes() })
    client.destroy(() => process.exit(0))
  })
}
process.once('SIGTERM', () => (client.destroyed ? process.exit(0) : client.destroy(() => process.exit(0))))
