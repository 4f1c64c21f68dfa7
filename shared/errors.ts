// Stable error codes: scripts and UIs match on the code, people read the message.
export const ERROR_CODES = {
  E_USAGE: 'a command-line argument is missing or malformed',
  E_IO: 'a file could not be read or written',
  E_EXISTS: 'the target already exists and Shoal will not overwrite it',
  E_KEY: 'a key file is missing or not an ed25519 key',
  E_SIGNATURE: 'a signature does not verify with the publisher key',
  E_MANIFEST_HASH: 'the manifest does not match the hash in the channel pointer',
  E_SCHEMA: 'a pointer, manifest or API request is malformed',
  E_LIMIT: 'a pointer or manifest exceeds a size or count bound',
  E_EXPIRED: 'the channel pointer has expired',
  E_ROLLBACK: 'the operation would move to a lower version',
  E_UNSAFE_PATH: 'a file path is absolute, escapes its folder or collides with another',
  E_VERSION_EXISTS: 'this version was already published',
  E_LINEAGE: 'the release does not fit the product lineage already on the CDN',
  E_VERIFY: 'bytes rebuilt or received do not match their signed SHA-256',
  E_INFOHASH: 'the torrent info does not match the manifest',
  E_FETCH: 'a URL could not be fetched',
  E_NO_SPACE: 'the disk does not have enough free space',
  E_BUSY: 'another Shoal process is working on this install',
  E_NOT_INSTALLED: 'the folder holds no Shoal install',
  E_AGENT: 'shoal agent is not running, or refused the request',
  E_PEER_AUTH: 'a peer pass could not be obtained, or a peer was refused admission to the swarm',
  E_LOCKED: 'the managed policy fixes this setting or product',
  E_INTERNAL: 'an unexpected internal failure',
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export class ShoalError extends Error {
  readonly code: ErrorCode
  /** What the user can do about it, shown after the message. */
  readonly hint: string | undefined

  constructor(code: ErrorCode, message: string, hint?: string) {
    super(message)
    this.name = 'ShoalError'
    this.code = code
    this.hint = hint
  }
}

export function isShoalError(err: unknown): err is ShoalError {
  return err instanceof ShoalError
}
