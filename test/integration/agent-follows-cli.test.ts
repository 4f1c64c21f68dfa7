// Issue 18: `get` from another data dir (a user's CLI, root's) updates an install the agent
// serves. The agent adopts the switch through the record beside the install and seeds the new
// version, without a job of its own.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { writeUpdatedBuild } from '../../app/demo/sample-build.ts'
import { agentStatus, startAgent, waitForJob } from '../support/agent-process.ts'
import { startNginx } from '../support/nginx.ts'
import { makeFixture } from '../support/release-fixture.ts'
import { runCli } from '../support/run-cli.ts'
import { useTempDirs } from '../support/temp-dir.ts'
import { treeHash } from '../support/tree-hash.ts'

const tempDir = useTempDirs()
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe('the agent and a CLI with another data dir', () => {
  it('the agent follows an update the CLI made to the install it seeds', async () => {
    const dir = await tempDir()
    const f = await makeFixture(dir, 1024 * 1024)
    expect((await f.publish(f.build, '1.0.0')).code).toBe(0)
    const nginx = await startNginx(f.cdn, join(dir, 'nginx'))
    cleanups.push(() => nginx.stop())
    const pub = join(f.keyDir, 'publisher.pub')
    const channel = `${nginx.url}/game/channels/stable.json`
    const install = join(dir, 'install')

    const agent = await startAgent(join(dir, 'data-agent'), join(dir, 'no-policy.json'))
    cleanups.push(() => agent.cli.stop())
    const added = await agent.api('POST', '/api/products', { channelUrl: channel, publicKey: await readFile(pub, 'utf8'), installDir: install })
    expect(added.status, JSON.stringify(added.json)).toBe(201)
    const job = await agent.api('POST', '/api/jobs', { productId: added.json['id'], kind: 'install' })
    await waitForJob(agent, job.json['id'] as string, (j) => j.state === 'done')
    expect((await agent.api('PATCH', '/api/settings', { sharing: { consentGiven: true, mode: 'lan', minFreeDisk: 0 } })).status).toBe(200)
    expect((await agentStatus(agent)).sharing?.seeding).toEqual([added.json['id']])

    await writeUpdatedBuild(f.build, join(dir, 'build-v2'), 'agent-follows-v2')
    expect((await f.publish(join(dir, 'build-v2'), '1.1.0')).code).toBe(0)
    const cli = await runCli(['get', channel, '--pubkey', pub, '--dir', install, '--json'], { SHOAL_DATA_DIR: join(dir, 'data-user') })
    expect(cli.code, cli.stderr).toBe(0)
    expect(cli.last).toMatchObject({ event: 'done', from: '1.0.0', version: '1.1.0' })

    // The agent reconciles its seeds every 30 s.
    const installed = async () => ((await agent.api('GET', '/api/products')).json as unknown as { installedVersion: string | null }[])[0]?.installedVersion
    for (let i = 0; i < 90 && (await installed()) !== '1.1.0'; i++) await sleep(500)
    expect(await installed()).toBe('1.1.0')
    // Adopted, not fetched again: the agent's only job is its first install.
    expect((await agentStatus(agent)).jobs.map((j) => j.kind)).toEqual(['install'])
    // The same reconcile then swaps the seed to the new version; the status can miss it for a moment.
    const seeding = async () => (await agentStatus(agent)).sharing?.seeding
    for (let i = 0; i < 40 && (await seeding())?.length !== 1; i++) await sleep(250)
    expect(await seeding()).toEqual([added.json['id']])
    expect((await agentStatus(agent)).sharing?.seedProblems).toEqual({})
    expect(await treeHash(install)).toEqual(await treeHash(join(dir, 'build-v2')))
  }, 120_000)
})
