// bencode 4 ships no types; Shoal uses only encode.
declare module 'bencode' {
  const bencode: {
    encode(value: unknown): Uint8Array
    decode(data: Uint8Array, encoding?: string): unknown
  }
  export default bencode
}

// parse-torrent 11 ships no types; tests use it as an independent reader of our .torrent files.
declare module 'parse-torrent' {
  interface ParsedTorrent {
    infoHash: string
    length: number
    pieceLength: number
    pieces: string[]
    private: boolean
    urlList: string[]
    announce: string[]
  }
  export default function parseTorrent(torrent: Uint8Array | string): Promise<ParsedTorrent>
}
