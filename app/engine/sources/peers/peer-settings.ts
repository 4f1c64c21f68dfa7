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

/**
 * Bytes of answers one peer may have in progress or queued before its further requests wait
 * (see boundWireUploads): 2 MiB for a lone peer, a share of 16 MiB when many are connected.
 * Measured: 1 GiB to one peer took 5.7-6.0 s with 2 MiB and 6.3 s with 512 KiB; 50 peers asking
 * 8 MiB ahead each held a seeder at 360 MB with 2 MiB each, 252-276 MB with this share (583-614
 * MB with no bound).
 */
export function uploadQueuePerWire(wires: number): number {
  return Math.max(256 * 1024, Math.min(2 * 1024 * 1024, Math.floor((16 * 1024 * 1024) / Math.max(1, wires))))
}

/** A peer's bitfield follows its handshake within milliseconds on a LAN; 500 ms covers a loaded machine. */
export const SETTLE_MS = 500
/**
 * Pieces from peers in memory at once, being received or placed: 4 MiB each at the default
 * piece size. Enough to keep both placement workers and several peers busy.
 */
export const PEER_PIECES_IN_FLIGHT = 8
/** Bytes requested and not received per wire: a LAN's bandwidth-delay product many times over, and 64 Mbit/s at 1 s RTT. */
export const BYTES_IN_FLIGHT_PER_WIRE = 8 * 1024 * 1024

/**
 * The pieces a job asks peers for next (two runs of its order): in a group, a piece no peer has
 * waits for the CDN until it is among them (cdn-scheduler.ts, `front`).
 */
export const FRONT_PIECES = 16
