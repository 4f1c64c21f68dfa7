// `shoal agent`: the long-running engine host with its local control API.
import { ShoalError } from '../../../shared/errors.ts'
import { Agent } from '../../agent/agent.ts'
import { ensureToken, removeEndpoint, TOKEN_FILE, writeEndpoint } from '../../agent/agent-files.ts'
import { startControlServer } from '../../agent/control-server.ts'
import { defaultPolicyPath } from '../../policy/managed-policy.ts'
import { openStateDb } from '../../store/state-db.ts'
import type { Output } from '../output.ts'
import { loadPrivateKey } from '../key-files.ts'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface AgentFlags {
  readonly port: number
  readonly policy: string | undefined
  readonly allowOrigin: string[]
  readonly trackerTokenFile: string | undefined
  /** LAN discovery forced on or off; undefined leaves it to each release's scope. */
  readonly lsd: boolean | undefined
  /** The swarm admission private key: this agent issues its own peer passes. */
  readonly admissionKey?: string | undefined
}

/** Runs until SIGINT or SIGTERM; then stops transfers at a checkpoint and exits cleanly. */
export async function agentCommand(out: Output, dataDir: string, flags: AgentFlags): Promise<void> {
  const token = ensureToken(dataDir)
  const policyPath = flags.policy ?? process.env['SHOAL_POLICY'] ?? defaultPolicyPath(process.platform, process.env)
  const trackerToken = flags.trackerTokenFile ? (await readFile(flags.trackerTokenFile, 'utf8').catch(() => '')).trim() : undefined
  if (trackerToken === '') throw new ShoalError('E_USAGE', `--tracker-token-file ${flags.trackerTokenFile} is missing or empty`)
  const admissionKey = flags.admissionKey ? await loadPrivateKey(flags.admissionKey, '--admission-key') : undefined
  const db = openStateDb(dataDir)
  const agent = new Agent({ dataDir, db, policyPath, ...(trackerToken ? { trackerToken } : {}), ...(flags.lsd !== undefined ? { lsd: flags.lsd } : {}), ...(admissionKey ? { admissionKey } : {}) })
  try {
    await agent.start()
    const server = await startControlServer({ agent, token, port: flags.port, allowedOrigins: flags.allowOrigin }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') throw new ShoalError('E_IO', `port ${flags.port} is in use`, 'choose another --port')
      throw err
    })
    writeEndpoint(dataDir, { port: server.port, pid: process.pid, startedAt: agent.startedAt })
    const policy = agent.status().policy
    out.event('listening', { port: server.port, pid: process.pid, tokenFile: join(dataDir, TOKEN_FILE), policy: policy.path, policyLoaded: policy.loaded, policyError: policy.error })
    out.info(`shoal agent on http://127.0.0.1:${server.port} (token in ${join(dataDir, TOKEN_FILE)}); stop with Ctrl-C`)
    if (policy.error) out.info(`warning: ${policy.error}`)
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    removeEndpoint(dataDir)
    await server.close()
    await agent.stop()
    out.event('stopped', {})
  } finally {
    await agent.stop()
    db.close()
  }
}
