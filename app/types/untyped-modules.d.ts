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

// webtorrent 3 ships no types; Shoal uses the client, torrents and wires through this subset.
declare module 'webtorrent' {
  import { EventEmitter } from 'node:events'
  export interface Wire extends EventEmitter {
    readonly type: string
    readonly remoteAddress: string
    readonly downloaded: number
    readonly uploaded: number
    /** The remote peer's pieces (a bitfield with `get`). */
    readonly peerPieces: { get(index: number): boolean }
    have(index: number): void
    /** The remote peer's id, hex, once its handshake arrived. */
    readonly peerId: string | null
    /** Block requests sent and not answered yet. */
    readonly requests: readonly unknown[]
    /** Bytes per second received from the peer over the last few seconds. */
    downloadSpeed(): number
    /** The peer's extension handshake (BEP 10); `reqq` is how many requests it queues. */
    readonly peerExtendedHandshake: { readonly reqq?: unknown } | undefined
    readonly destroyed: boolean
    request(index: number, offset: number, length: number, cb: (err: Error | null, block: Uint8Array | null) => void): void
    /** Choking a peer stops serving its requests; webtorrent unchokes every interested peer. */
    choke(): void
    unchoke(): void
    readonly amChoking: boolean
    /** Whether the remote peer chokes us: it may hold pieces and still not serve them yet. */
    readonly peerChoking: boolean
    destroy(): void
  }
  export interface Torrent extends EventEmitter {
    readonly infoHash: string
    readonly destroyed: boolean
    readonly done: boolean
    readonly progress: number
    readonly downloaded: number
    readonly uploaded: number
    readonly wires: Wire[]
    /** Bytes per second over the last few seconds. */
    readonly downloadSpeed: number
    readonly bitfield: { get(index: number): boolean }
    addPeer(peer: string): boolean
    select(start: number, end: number, priority?: number): void
    /** Removes the selection made with exactly these bounds. */
    deselect(start: number, end: number): void
    addWebSeed(url: string): void
    destroy(opts?: { destroyStore?: boolean }, cb?: (err?: Error) => void): void
  }
  export interface ClientOptions {
    /** 40 hex characters. */
    peerId?: string
    dht?: boolean
    lsd?: boolean
    natUpnp?: boolean
    natPmp?: boolean
    utp?: boolean
    utPex?: boolean
    tracker?: boolean | Record<string, unknown>
    webSeeds?: boolean
    torrentPort?: number
    maxConns?: number
    /** MSE/PE: 0 off, 1 offer it and accept plaintext, 2 require RC4. */
    secure?: number
    uploadLimit?: number
    downloadLimit?: number
  }
  export interface AddOptions {
    store?: unknown
    storeOpts?: Record<string, unknown>
    storeCacheSlots?: number
    bitfield?: Uint8Array
    skipVerify?: boolean
    deselect?: boolean
    path?: string
    announce?: string[]
  }
  export default class WebTorrent extends EventEmitter {
    constructor(opts?: ClientOptions)
    /** Ours, hex. */
    readonly peerId: string
    readonly torrentPort: number
    readonly listening: boolean
    readonly destroyed: boolean
    /** Bytes per second uploaded lately, all torrents. */
    readonly uploadSpeed: number
    address(): { address: string; port: number } | null
    add(torrent: Uint8Array | string, opts: AddOptions, onTorrent?: (t: Torrent) => void): Torrent
    /** Bytes per second, or -1 for unlimited; changes apply to wires already open. */
    throttleDownload(rate: number): void
    throttleUpload(rate: number): void
    destroy(cb?: (err?: Error) => void): void
  }
}

/** bittorrent-protocol's Wire, webtorrent's peer wire: only the adapter's canary test builds one itself. */
declare module 'bittorrent-protocol' {
  const Wire: new () => Record<string, unknown> & { destroy(): void }
  export default Wire
}

/** webtorrent's Peer class: only the adapter replaces one of its methods (directPeerPipes). */
declare module 'webtorrent/lib/peer.js' {
  const Peer: { prototype: { setThrottlePipes(): void } }
  export default Peer
}

// bittorrent-lsd 2 ships no types; the peer scout uses its constructor, events, start and destroy.
declare module 'bittorrent-lsd' {
  import { EventEmitter } from 'node:events'
  export default class LSD extends EventEmitter {
    constructor(opts: { infoHash: string; peerId: string; port: number })
    start(): void
    destroy(cb?: () => void): void
  }
}
