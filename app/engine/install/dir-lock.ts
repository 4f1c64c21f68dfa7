import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ShoalError } from '../../../shared/errors.ts'
import { processAlive } from './process-alive.ts'

/** One Shoal process per install folder: an O_EXCL lock file holding the owner's pid; a dead owner's lock is taken over. */
export function lockInstallDir(dataDir: string, installDir: string): () => void {
  const dir = join(dataDir, 'locks')
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `${createHash('sha256').update(installDir).digest('hex').slice(0, 24)}.lock`)
  for (let tries = 0; tries < 3; tries++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' })
      return () => rmSync(path, { force: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const owner = Number(readFileSync(path, 'utf8').trim())
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
        throw new ShoalError('E_BUSY', `process ${owner} is already working on ${installDir}`, 'wait for it to finish, or stop it')
      }
      rmSync(path, { force: true })
    }
  }
  throw new ShoalError('E_BUSY', `cannot lock ${installDir}`)
}
