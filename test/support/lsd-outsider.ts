// A standard BitTorrent client on the LAN that knows a release's torrent and nothing else: stock
// webtorrent with LAN discovery on (and DHT, UPnP, NAT-PMP, uTP off). Run it only inside a test's
// network namespace. node lsd-outsider.ts TORRENT_FILE DIR SECONDS; after SECONDS it prints
// {"downloaded": bytes, "wires": peers it ever had a wire with} and exits.
import { readFileSync } from 'node:fs'
import WebTorrent from 'webtorrent'

const [torrentFile, dir, seconds] = process.argv.slice(2)
const client = new WebTorrent({ dht: false, lsd: true, natUpnp: false, natPmp: false, utp: false, tracker: false, webSeeds: false })
const torrent = client.add(readFileSync(torrentFile!), { path: dir! })
let wires = 0
torrent.on('wire', () => wires++)
setTimeout(() => {
  console.log(JSON.stringify({ downloaded: torrent.downloaded, wires }))
  client.destroy(() => process.exit(0))
}, Number(seconds) * 1000)
