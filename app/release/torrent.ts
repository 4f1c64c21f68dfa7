import { createHash } from 'node:crypto'
import bencode from 'bencode'
import type { Manifest } from '../../shared/release-schema.ts'

export interface TorrentInfo {
  readonly name: string
  readonly length: number
  readonly pieceLength: number
  /** 20-byte SHA-1 per piece, concatenated. */
  readonly pieces: Uint8Array
  readonly private: boolean
}

function infoDict(info: TorrentInfo): Record<string, unknown> {
  return {
    length: info.length,
    name: info.name,
    'piece length': info.pieceLength,
    pieces: info.pieces,
    ...(info.private ? { private: 1 } : {}),
  }
}

export function infoHash(info: TorrentInfo): string {
  return createHash('sha1').update(bencode.encode(infoDict(info))).digest('hex')
}

export function torrentInfoOf(manifest: Manifest): TorrentInfo {
  const { pack } = manifest
  return { name: pack.name, length: pack.length, pieceLength: pack.pieceLength, pieces: Buffer.from(pack.pieces, 'base64'), private: pack.private }
}

/** A single-file v1 .torrent of the pack. No url-list: the CDN is Shoal's own source. */
export function encodeTorrentFile(info: TorrentInfo, announce: readonly string[], createdAt: Date): Buffer {
  const torrent: Record<string, unknown> = {
    'created by': 'shoal',
    'creation date': Math.floor(createdAt.getTime() / 1000),
    info: infoDict(info),
  }
  if (announce.length > 0) {
    torrent['announce'] = announce[0]
    torrent['announce-list'] = announce.map((url) => [url])
  }
  return Buffer.from(bencode.encode(torrent))
}
