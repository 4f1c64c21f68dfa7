// Error codes from the agent, said in plain words for people who never saw a hash.
import type { ErrorInfo } from '../shared/api-contract.ts'

const PLAIN: Record<string, string> = {
  E_FETCH: 'The download server could not be reached.',
  E_SIGNATURE: 'The update is not signed by the publisher, so Shoal refused it.',
  E_MANIFEST_HASH: 'The update description was changed on the way, so Shoal refused it.',
  E_EXPIRED: 'The publisher’s update notice has expired; try again later.',
  E_ROLLBACK: 'The server offers an older version than the one installed, so Shoal refused it.',
  E_NO_SPACE: 'There is not enough free disk space.',
  E_BUSY: 'Another Shoal process is working on this install.',
  E_NOT_INSTALLED: 'The folder does not hold this product.',
  E_IO: 'A file could not be read or written.',
}

export function plainError(error: ErrorInfo): string {
  const plain = PLAIN[error.code]
  return plain ? `${plain} (${error.message})` : error.message
}
