// What an idle `shoal agent` holds (issue 13): the process logs every module it loads
// (test/support/module-log.ts), and the test checks the log as the agent goes from idle to a first
// request, a finished install with sharing off, and seeding. Memory figures are not asserted here:
// they depend on the machine (README, "An idle agent's memory"; test/bench/agent-memory.ts).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import * as v from 'valibot'
import { startStaticServer } from '../../app/demo/static-server.ts'
import { apiEventSchema } from '../../shared/api-contract.ts'
import { agentStatus, rawStatus, startAgent, waitForJob } from '../support/agent-process.ts'
import { loadedModules, moduleLogEnv } from '../support/module-log.ts'
import { makeFixture } from '../support/release-fixture.ts'
import { useTempDirs } from '../support/temp-dir.ts'

const tempDir = useTempDirs()

const WEBTORRENT = /\/node_modules\/webtorrent\//
const JOB_ENGINE = /\/app\/engine\/install\/install-job\.ts$/
const FASTIFY = /\/node_modules\/(fastify|@fastify\/websocket|ws)\//
const SCHEMA_COMPILERS = /\/node_modules\/(ajv|@fastify\/ajv-compiler|@fastify\/fast-json-stringify-compiler)\//
/** The publisher: the CLI's help shows its defaults, which once loaded it (the chunker, the codecs and semver's 49 modules) into every command. */
const PUBLISHER = /\/app\/release\/publish\.ts$/
/** semver's index (fastify loads it too, with the first request). */
const SEMVER_INDEX = /\/node_modules\/semver\/index\.js$/

/** A WebSocket upgrade with no token: its HTTP status (101 once upgraded). */
function upgradeStatus(port: number, path: string): Promise<number> {
  return rawStatus(port, path, { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' })
}

function firstEvent(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.addEventListener('message', (m) => {
      ws.close()
      resolve(v.parse(apiEventSchema, JSON.parse(String(m.data))))
    })
    ws.addEventListener('error', () => reject(new Error('websocket failed')))
  })
}

describe('an idle shoal agent', () => {
  it('loads no webtorrent, no job engine and no web framework until something needs them', async () => {
    const dir = await tempDir()
    const f = await makeFixture(dir)
    const published = await f.publish(f.build, '1.0.0')
    expect(published.code, published.stderr).toBe(0)
    const cdn = await startStaticServer(f.cdn)
    const log = join(dir, 'modules.log')
    const agent = await startAgent(join(dir, 'data'), join(dir, 'no-policy.json'), [], moduleLogEnv(log))
    const matching = async (pattern: RegExp) => (await loadedModules(log)).filter((url) => pattern.test(url))
    try {
      // Idle: listening, no products, nobody has called. Two ticks of the agent's timer pass.
      await sleep(1200)
      const idle = await loadedModules(log)
      expect(idle.some((url) => url.endsWith('/app/agent/agent.ts')), 'the module log works').toBe(true)
      expect(await matching(WEBTORRENT)).toEqual([])
      expect(await matching(JOB_ENGINE)).toEqual([])
      expect(await matching(FASTIFY)).toEqual([])
      expect(await matching(PUBLISHER)).toEqual([])
      expect(await matching(SEMVER_INDEX)).toEqual([])

      // The first contact is a WebSocket upgrade: it waits for fastify, then passes the same checks as ever.
      expect(await upgradeStatus(agent.port, '/api/events')).toBe(401)
      expect(await matching(FASTIFY)).not.toEqual([])
      expect(await firstEvent(`ws://127.0.0.1:${agent.port}/api/events?token=${agent.token}`)).toMatchObject({ type: 'snapshot' })
      expect(await matching(SCHEMA_COMPILERS)).toEqual([])

      // One install with sharing off: the job engine loads, webtorrent does not (no peers, no trackers, no LAN discovery).
      const added = await agent.api('POST', '/api/products', { channelUrl: `${cdn.url}/game/channels/stable.json`, publicKey: await readFile(join(f.keyDir, 'publisher.pub'), 'utf8'), installDir: join(dir, 'install') })
      expect(added.status, JSON.stringify(added.json)).toBe(201)
      const created = await agent.api('POST', '/api/jobs', { productId: added.json['id'], kind: 'install' })
      expect(created.status, JSON.stringify(created.json)).toBe(201)
      await waitForJob(agent, created.json['id'] as string, (j) => j.state === 'done')
      expect((await agentStatus(agent)).sharing?.seeding).toEqual([])
      expect(await matching(JOB_ENGINE)).not.toEqual([])
      expect(await matching(WEBTORRENT)).toEqual([])
      expect(await matching(PUBLISHER)).toEqual([])

      // Sharing on: the agent seeds the install, and its seed scouts: nobody fetches it, so webtorrent stays out (peer-scout.test.ts wakes one).
      expect((await agent.api('PATCH', '/api/settings', { sharing: { consentGiven: true, mode: 'lan', minFreeDisk: 0 } })).status).toBe(200)
      expect((await agentStatus(agent)).sharing?.seeding).toEqual([added.json['id']])
      expect(await matching(/\/app\/engine\/sources\/peers\/peer-scout\.ts$/)).not.toEqual([])
      expect(await matching(WEBTORRENT)).toEqual([])

      // A clean stop, the refused upgrade's socket included: it used to keep server.close() waiting
      // forever, and the agent never exited while a seed kept it busy (a scouting one too).
      const { pid } = (await agent.cli.waitFor('listening')) as { pid: number }
      const stopped = await Promise.race([agent.cli.stop(), sleep(10_000).then(() => undefined)])
      if (!stopped) process.kill(pid, 'SIGKILL')
      expect(stopped?.code, 'exit code within 10 s of SIGTERM').toBe(0)
    } finally {
      await agent.cli.stop()
      await cdn.close()
    }
  })
})
