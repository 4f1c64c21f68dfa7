// A webtorrent torrent that joins a private or lan release's swarm as Shoal peers do: TLS 1.3
// with a pass of its own, issued with the admission key in SHOAL_ADMISSION_KEY (admission-key.ts).
// Call right after `client.add`, before any peer is added.
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import bencode from 'bencode'
import type WebTorrent from 'webtorrent'
import type { Torrent } from 'webtorrent'
import { holdPass } from '../../app/engine/sources/peers/pass-holder.ts'
import { startTlsPeering, type TlsPeering } from '../../app/engine/sources/peers/tls-peers.ts'

export async function admitTorrent(client: WebTorrent, torrent: Torrent, torrentFile: Buffer): Promise<TlsPeering> {
  const keyFile = process.env['SHOAL_ADMISSION_KEY']
  if (!keyFile) throw new Error('SHOAL_ADMISSION_KEY names no admission key')
  const admissionKey = createPrivateKey(readFileSync(keyFile))
  const authority = createPublicKey(admissionKey)
  const swarm = createHash('sha1').update(bencode.encode((bencode.decode(torrentFile) as { info: unknown }).info)).digest('hex')
  const holder = await holdPass({ swarm, authority, source: { admissionKey, services: [], credential: undefined }, checkMs: 3_600_000 })
  return startTlsPeering(client, torrent, { swarm, authority, holder, maxPeers: 10, ownAddresses: [], now: () => Date.now() })
}
