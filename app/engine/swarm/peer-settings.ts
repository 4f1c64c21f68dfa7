/**
 * MSE/PE, webtorrent's `secure`: `off` speaks plain BitTorrent, `prefer` offers encryption and
 * accepts plaintext, `require` insists on RC4. Node's OpenSSL 3 has no RC4 without the legacy
 * provider, so RC4 runs in JavaScript (README, "Peer encryption", for the measured cost).
 * Apart from swarm-client.ts so the CLI's flags load without webtorrent.
 */
export const PEER_ENCRYPTION = { off: 0, prefer: 1, require: 2 } as const
export type PeerEncryption = keyof typeof PEER_ENCRYPTION

/** webtorrent's own default connection count. */
export const DEFAULT_MAX_PEERS = 55
