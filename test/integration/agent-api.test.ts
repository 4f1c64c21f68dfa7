import { generateKeyPairSync } from 'node:crypto'
import { readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import * as v from 'valibot'
import { apiEventSchema, MAX_CHECK_INTERVAL_MINUTES, statusSchema, type ApiEvent } from '../../shared/api-contract.ts'
import { agentStatus, rawStatus, startAgent } from '../support/agent-process.ts'
import { runCli } from '../support/run-cli.ts'
import { useTempDirs } from '../support/temp-dir.ts'

const tempDir = useTempDirs()


function firstEvents(url: string, count: number): Promise<ApiEvent[]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    const got: ApiEvent[] = []
    ws.addEventListener('message', (m) => {
      got.push(v.parse(apiEventSchema, JSON.parse(String(m.data))))
      if (got.length === count) {
        ws.close()
        resolve(got)
      }
    })
    ws.addEventListener('error', () => reject(new Error('websocket failed')))
  })
}

describe('shoal agent control API', () => {
  it('checks Host, Origin, token and schema; keeps the token at mode 600; serves status and events', async () => {
    const dir = await tempDir()
    const agent = await startAgent(join(dir, 'data'), join(dir, 'no-policy.json'))
    try {
      expect((await stat(join(dir, 'data', 'agent.token'))).mode & 0o777).toBe(0o600)
      const auth = { authorization: `Bearer ${agent.token}` }
      expect(await rawStatus(agent.port, '/api/status', {})).toBe(401)
      expect(await rawStatus(agent.port, '/api/status', { authorization: 'Bearer nope' })).toBe(401)
      expect(await rawStatus(agent.port, '/api/status', { ...auth, host: 'attacker.example:80' })).toBe(403)
      expect(await rawStatus(agent.port, '/api/status', { ...auth, host: `attacker.example:${agent.port}` })).toBe(403)
      expect(await rawStatus(agent.port, '/api/status', { ...auth, origin: 'http://attacker.example' })).toBe(403)
      expect(await rawStatus(agent.port, '/api/status', { ...auth, host: `localhost:${agent.port}`, origin: `http://localhost:${agent.port}` })).toBe(200)
      const ws = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' }
      expect(await rawStatus(agent.port, '/api/events', ws)).toBe(401)
      expect(await rawStatus(agent.port, `/api/events?token=${agent.token}`, { ...ws, origin: 'http://attacker.example' })).toBe(403)

      const status = await agent.api('GET', '/api/status')
      expect(status.status).toBe(200)
      expect(v.parse(statusSchema, status.json).policy).toMatchObject({ loaded: false, error: null })

      expect((await agent.api('PATCH', '/api/settings', { caps: { down: { global: -1 } } })).status).toBe(400)
      expect((await agent.api('PATCH', '/api/settings', { nonsense: true })).status).toBe(400)
      expect((await agent.api('POST', '/api/jobs', { productId: 'x', kind: 'explode' })).status).toBe(400)
      expect((await agent.api('POST', '/api/products', { channelUrl: 'not a url', publicKey: 'k', installDir: '/tmp/x' })).status).toBe(400)
      expect((await fetch(`${agent.base}/api/settings`, { method: 'PATCH', headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' }, body: '{not json' })).status).toBe(400)
      expect((await agent.api('POST', '/api/jobs/abc/explode')).status).toBe(400)

      const events = firstEvents(`ws://127.0.0.1:${agent.port}/api/events?token=${agent.token}`, 2)
      await new Promise((r) => setTimeout(r, 200))
      const patched = await agent.api('PATCH', '/api/settings', { caps: { down: { global: 5_000_000 } } })
      expect(patched.status).toBe(200)
      const [snapshot, change] = await events
      expect(snapshot?.type).toBe('snapshot')
      expect(change).toMatchObject({ type: 'settings', settings: { caps: { down: { global: 5_000_000 } } } })

      const cli = await runCli(['status', '--data-dir', join(dir, 'data'), '--json'])
      expect(cli.code, cli.stderr).toBe(0)
      expect(cli.last).toMatchObject({ event: 'result', effectiveCaps: { down: 5_000_000 } })
    } finally {
      await agent.cli.stop()
    }
    const after = await runCli(['status', '--data-dir', join(dir, 'data')])
    expect(after.code).toBe(1)
    expect(after.stderr).toMatch(/E_AGENT: no shoal agent runs/)
  })

  it('refuses a file: channel or mirror, its own API address as a channel, and a check interval past what a timer holds; adds nothing', async () => {
    const dir = await tempDir()
    const agent = await startAgent(join(dir, 'data'), join(dir, 'no-policy.json'), [], { SHOAL_NO_LSD: '1' })
    try {
      const publicKey = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString()
      const installDir = join(dir, 'install')
      const add = (channelUrl: string, mirrors: string[] = []) => agent.api('POST', '/api/products', { channelUrl, publicKey, installDir, mirrors })
      expect(await add('file:///etc/game/channels/stable.json')).toMatchObject({ status: 400, json: { error: { code: 'E_SCHEMA', message: expect.stringMatching(/channelUrl: must be an http or https URL/) } } })
      expect(await add('http://cdn.example/game/channels/stable.json', ['file:///etc'])).toMatchObject({ status: 400, json: { error: { code: 'E_SCHEMA' } } })
      for (const host of ['127.0.0.1', 'localhost', '[::1]', '127.1']) {
        expect(await add(`http://${host}:${agent.port}/api/status`)).toMatchObject({ status: 400, json: { error: { code: 'E_USAGE', message: expect.stringMatching(/own control API/) } } })
      }
      expect(await add('http://cdn.example/game/channels/stable.json', [`${agent.base}/api`])).toMatchObject({ status: 400, json: { error: { code: 'E_USAGE' } } })
      expect((await agentStatus(agent)).products).toEqual([])

      const before = (await agentStatus(agent)).settings
      expect(await agent.api('PATCH', '/api/settings', { checkIntervalMinutes: 1e9 })).toMatchObject({ status: 400, json: { error: { code: 'E_SCHEMA', message: expect.stringMatching(/checkIntervalMinutes/) } } })
      expect(await agent.api('PATCH', '/api/settings', { checkIntervalMinutes: MAX_CHECK_INTERVAL_MINUTES + 1 })).toMatchObject({ status: 400 })
      expect((await agentStatus(agent)).settings).toEqual(before)
      expect(await agent.api('PATCH', '/api/settings', { checkIntervalMinutes: MAX_CHECK_INTERVAL_MINUTES })).toMatchObject({ status: 200, json: { settings: { checkIntervalMinutes: MAX_CHECK_INTERVAL_MINUTES } } })
    } finally {
      await agent.cli.stop()
    }
    expect(await readdir(dir)).toEqual(['data'])
  })

  it('a managed policy locks what it sets (403 with a message); an invalid one is reported with safe defaults', async () => {
    const dir = await tempDir()
    const policy = join(dir, 'policy.json')
    await writeFile(policy, JSON.stringify({ settings: { caps: { down: { global: 1_000_000 } }, sharing: { mode: 'lan' } } }))
    const agent = await startAgent(join(dir, 'data'), policy)
    try {
      const status = await agentStatus(agent)
      expect(status.policy).toMatchObject({ loaded: true, error: null })
      expect(status.locked).toEqual(expect.arrayContaining(['caps.down.global', 'sharing.mode']))
      expect(status.settings.caps.down.global).toBe(1_000_000)
      const refused = await agent.api('PATCH', '/api/settings', { caps: { down: { global: 9_000_000 } } })
      expect(refused.status).toBe(403)
      expect(refused.json).toMatchObject({ error: { code: 'E_LOCKED', message: expect.stringContaining('caps.down.global') } })
      expect((await agent.api('PATCH', '/api/settings', { caps: { down: { cdn: 2_000_000 } } })).status).toBe(200)
      const cli = await runCli(['caps', '--down', '9MiB', '--data-dir', join(dir, 'data')])
      expect(cli.code).toBe(1)
      expect(cli.stderr).toMatch(/E_LOCKED/)
    } finally {
      await agent.cli.stop()
    }

    await writeFile(policy, '{"settings": {"sharing": {"mode": "everyone"}}}')
    const broken = await startAgent(join(dir, 'data'), policy)
    try {
      const status = await agentStatus(broken)
      expect(status.policy.loaded).toBe(false)
      expect(status.policy.error).toMatch(/invalid policy .*sharing\.mode/)
      expect(status.settings.sharing.mode).toBe('off')
      expect(status.locked).toEqual([])
      const shown = await runCli(['policy', 'show', '--data-dir', join(dir, 'data')])
      expect(shown.stdout).toMatch(/INVALID/)
    } finally {
      await broken.cli.stop()
    }
  })
})
