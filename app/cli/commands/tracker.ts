import { readFile } from 'node:fs/promises'
import { ShoalError } from '../../../shared/errors.ts'
import { startTracker } from '../../tracker/tracker-server.ts'
import type { Output } from '../output.ts'
import { loadPrivateKey } from '../key-files.ts'

export interface TrackerFlags {
  readonly port: number
  readonly host: string
  readonly tokenFile: string | undefined
  /** The admission private key: serve peer passes and revocations. */
  readonly admissionKey: string | undefined
  readonly revoked: string | undefined
  /** Longest pass issued, in seconds. */
  readonly passSeconds: number
}

/** Runs the tracker until SIGINT or SIGTERM. */
export async function trackerCommand(out: Output, flags: TrackerFlags): Promise<void> {
  let token: string | undefined
  if (flags.tokenFile) {
    token = (await readFile(flags.tokenFile, 'utf8').catch(() => '')).trim()
    if (!token) throw new ShoalError('E_USAGE', `--token-file ${flags.tokenFile} is missing or empty`, 'put a random secret in it, e.g. `openssl rand -hex 32 > tracker.token`')
  }
  const admission = flags.admissionKey ? { admissionKey: await loadPrivateKey(flags.admissionKey, '--admission-key'), passSeconds: flags.passSeconds, revokedFile: flags.revoked } : undefined
  const tracker = await startTracker({ port: flags.port, host: flags.host, token, ...(admission ? { admission } : {}) }).catch((err: NodeJS.ErrnoException) => {
    throw new ShoalError('E_IO', `cannot listen on ${flags.host}:${flags.port}: ${err.code ?? err.message}`, 'choose another --port or --host')
  })
  out.event('listening', { announce: tracker.announceUrl, token: token !== undefined, admission: admission !== undefined })
  out.info(`tracker listening: ${tracker.announceUrl}${token ? ' (announces need ?token=…)' : ''}${admission ? `; issuing peer passes${token ? ' to token holders' : ' to anyone (no token)'}` : ''}; stop with Ctrl-C`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await tracker.close()
  out.event('stopped', {})
}
