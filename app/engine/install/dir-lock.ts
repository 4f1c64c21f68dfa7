import { ShoalError } from '../../../shared/errors.ts'
import { holdFileLock } from '../../store/file-lock.ts'

/**
 * One Shoal process per install folder, whatever its data dir: an exclusive lock on a file
 * beside the folder (store/file-lock.ts), so there is no stale lock to take over and no race
 * between takers. The file stays: deleting it could let a second taker lock a new file while the
 * first still holds the old one.
 */
export function lockInstallDir(lockPath: string, installDir: string): () => void {
  const unlock = holdFileLock(lockPath)
  if (!unlock) throw new ShoalError('E_BUSY', `another Shoal process is working on ${installDir}`, 'wait for it to finish, or stop it')
  return unlock
}
