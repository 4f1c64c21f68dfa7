// The local control API: HTTP + WebSocket on 127.0.0.1 only. Every request passes the
// DNS-rebinding checks (Host, then Origin: 403) and the bearer token (401) before any
// route runs, and every body and message is checked against the shared zod schemas.
import { timingSafeEqual } from 'node:crypto'
import websocket from '@fastify/websocket'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { z } from 'zod'
import {
  addProductRequestSchema,
  apiEventSchema,
  clientMessageSchema,
  createJobRequestSchema,
  historySchema,
  jobActionSchema,
  jobSchema,
  productSchema,
  setPausedRequestSchema,
  settingsPatchSchema,
  settingsViewSchema,
  statusSchema,
  type ApiEvent,
} from '../../shared/api-contract.ts'
import { AgentError, type Agent } from './agent.ts'

export interface ControlServerOptions {
  readonly agent: Agent
  readonly token: string
  /** 0 picks a free port. */
  readonly port: number
  /** Origins besides the agent's own that may call it from a browser (a UI dev server). */
  readonly allowedOrigins?: readonly string[]
}

export interface ControlServer {
  readonly port: number
  close(): Promise<void>
}

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost']

function sameSecret(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false
  const a = Buffer.from(expected)
  const b = Buffer.from(given)
  return a.length === b.length && timingSafeEqual(a, b)
}

function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value)
  if (!r.success) throw new AgentError(400, 'E_SCHEMA', `${what}: ${r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`)
  return r.data
}

const idParam = (req: FastifyRequest) => (req.params as Record<string, string>)['id']!

export async function startControlServer(o: ControlServerOptions): Promise<ControlServer> {
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 1024 * 1024 })
  let port = o.port
  const hosts = () => new Set(LOOPBACK_HOSTS.map((h) => `${h}:${port}`))
  const origins = () => new Set([...LOOPBACK_HOSTS.map((h) => `http://${h}:${port}`), ...(o.allowedOrigins ?? [])])

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    // A page on another site that resolves its own name to 127.0.0.1 still sends its Host: refuse it.
    if (!hosts().has(req.headers.host ?? '')) return reply.code(403).send({ error: { code: 'E_AGENT', message: `foreign Host "${req.headers.host ?? ''}"` } })
    const origin = req.headers.origin
    if (origin !== undefined && !origins().has(origin)) return reply.code(403).send({ error: { code: 'E_AGENT', message: `foreign Origin "${origin}"` } })
    if (origin !== undefined) {
      reply.header('access-control-allow-origin', origin).header('vary', 'Origin')
      if (req.method === 'OPTIONS') {
        return reply.code(204).header('access-control-allow-headers', 'authorization, content-type').header('access-control-allow-methods', 'GET, POST, PATCH, DELETE').send()
      }
    }
    const auth = req.headers.authorization
    const bearer = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined
    const queryToken = req.url.startsWith('/api/events') ? (req.query as Record<string, string | undefined>)['token'] : undefined
    if (!sameSecret(o.token, bearer ?? queryToken)) return reply.code(401).send({ error: { code: 'E_AGENT', message: 'missing or wrong bearer token' } })
  })

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof AgentError) return reply.code(err.status).send({ error: { code: err.code, message: err.message } })
    // Fastify's own 4xx (malformed JSON, wrong content type, body too large).
    if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: { code: 'E_SCHEMA', message: err.message } })
    return reply.code(500).send({ error: { code: 'E_INTERNAL', message: err.message } })
  })
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: { code: 'E_USAGE', message: 'no such route' } }))

  await app.register(websocket, { options: { maxPayload: 64 * 1024 } })
  const { agent } = o

  app.get('/api/status', async () => statusSchema.parse(agent.status()))
  app.get('/api/products', async () => productSchema.array().parse(agent.products()))
  app.post('/api/products', async (req, reply) => reply.code(201).send(productSchema.parse(await agent.addProduct(parse(addProductRequestSchema, req.body, 'product')))))
  app.delete('/api/products/:id', async (req, reply) => {
    await agent.removeProduct(idParam(req))
    return reply.code(204).send()
  })
  app.post('/api/products/:id/check', async (req) => productSchema.parse(await agent.checkProduct(idParam(req))))
  app.get('/api/jobs', async () => jobSchema.array().parse(agent.status().jobs))
  app.post('/api/jobs', async (req, reply) => reply.code(201).send(jobSchema.parse(agent.createJob(parse(createJobRequestSchema, req.body, 'job')))))
  app.post('/api/jobs/:id/:action', async (req) => {
    const action = parse(jobActionSchema, (req.params as Record<string, string>)['action'], 'action')
    return jobSchema.parse(await agent.jobAction(idParam(req), action))
  })
  app.post('/api/pause', async (req, reply) => {
    parse(setPausedRequestSchema, req.body ?? {}, 'pause')
    await agent.setPausedAll(true)
    return reply.code(204).send()
  })
  app.post('/api/resume', async (req, reply) => {
    parse(setPausedRequestSchema, req.body ?? {}, 'resume')
    await agent.setPausedAll(false)
    return reply.code(204).send()
  })
  app.get('/api/settings', async () => settingsViewSchema.parse(agent.settingsView()))
  app.patch('/api/settings', async (req) => settingsViewSchema.parse(await agent.patchSettings(parse(settingsPatchSchema, req.body, 'settings'))))
  app.get('/api/history', async () => historySchema.parse(agent.history()))

  app.get('/api/events', { websocket: true }, (socket) => {
    const send = (event: ApiEvent) => socket.send(JSON.stringify(apiEventSchema.parse(event)))
    const unsubscribe = agent.hub.subscribe(send)
    socket.on('message', (data: Buffer) => {
      let message: unknown
      try {
        message = JSON.parse(data.toString())
      } catch {
        message = undefined
      }
      // 1008: policy violation, the close code for a message that breaks the contract.
      if (!clientMessageSchema.safeParse(message).success) return socket.close(1008, 'invalid message')
      send({ type: 'snapshot', status: agent.status() })
    })
    socket.on('close', unsubscribe)
  })

  await app.listen({ host: '127.0.0.1', port: o.port })
  port = (app.server.address() as { port: number }).port
  return {
    port,
    close: async () => {
      for (const client of app.websocketServer.clients) client.terminate()
      await app.close()
    },
  }
}
