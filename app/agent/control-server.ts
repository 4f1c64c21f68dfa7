// The local control API: HTTP + WebSocket on 127.0.0.1 only. Every request passes the
// DNS-rebinding checks (Host, then Origin: 403) and the bearer token (401) before any
// route runs, and every body and message is checked against the shared valibot schemas.
//
// The agent listens with a bare node:http server, and fastify, @fastify/websocket and ws (about
// 8 MiB of an idle agent's memory, README "An idle agent's memory") load when the first request
// or WebSocket upgrade arrives. That one waits for them; from then on the server hands every
// request straight to fastify. Every request, the first included, goes through the same fastify
// instance with the same hooks and routes.
import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import * as v from 'valibot'
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
import type { Agent } from './agent.ts'
import { AgentError } from './agent-error.ts'
import { isOwnApiAddress } from './own-address.ts'

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

function parse<T extends v.GenericSchema>(schema: T, value: unknown, what: string): v.InferOutput<T> {
  const r = v.safeParse(schema, value)
  if (!r.success) throw new AgentError(400, 'E_SCHEMA', `${what}: ${r.issues.map((i) => `${v.getDotPath(i) || '(body)'}: ${i.message}`).join('; ')}`)
  return r.output
}

const productsSchema = v.array(productSchema)
const jobsSchema = v.array(jobSchema)

const idParam = (req: FastifyRequest) => (req.params as Record<string, string>)['id']!

/**
 * Fastify builds its JSON-schema compilers (ajv, fast-json-stringify: about 115 modules) from these
 * factories when a route declares a fastify schema. No route does (valibot checks every body and
 * answer), so they are never called; without them fastify would load both as it loads.
 */
const noFastifySchemas = {
  buildValidator: () => {
    throw new Error('the control API checks bodies with valibot (shared/api-contract.ts), not fastify schemas')
  },
  buildSerializer: () => {
    throw new Error('the control API checks answers with valibot (shared/api-contract.ts), not fastify schemas')
  },
}

/** The fastify app serving `server`, and its request handler. */
interface Loaded {
  readonly app: FastifyInstance
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void
}

export async function startControlServer(o: ControlServerOptions): Promise<ControlServer> {
  // node:http through getBuiltinModule: an ES import of it evaluates its lazy exports (Node's
  // bundled undici, http2, web streams); app/release/resource-fetch.ts does the same.
  const server: Server = process.getBuiltinModule('node:http').createServer()
  // What fastify sets on a server it creates itself (it leaves a given one alone).
  server.keepAliveTimeout = 72_000
  server.requestTimeout = 0
  server.setTimeout(0)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port

  let loaded: Loaded | undefined
  let loading: Promise<Loaded> | undefined
  const load = () =>
    (loading ??= buildApp(server, port, o).then(
      (l) => {
        // From here @fastify/websocket's own listener takes every upgrade.
        server.off('upgrade', early)
        return (loaded = l)
      },
      (err: unknown) => {
        loading = undefined
        throw err
      },
    ))
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (loaded) return loaded.handle(req, res)
    load().then(
      (l) => l.handle(req, res),
      (err: Error) => res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ error: { code: 'E_INTERNAL', message: err.message } })),
    )
  })
  function early(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node takes its error listener off an upgraded socket: keep one while fastify loads.
    const guard = () => socket.destroy()
    socket.on('error', guard)
    load().then(
      () => {
        socket.off('error', guard)
        // @fastify/websocket listens for upgrades on this server now: it takes this one too.
        server.emit('upgrade', req, socket, head)
      },
      () => socket.destroy(),
    )
  }
  server.on('upgrade', early)

  return {
    port,
    close: async () => {
      const l = loaded ?? (await loading?.catch(() => undefined))
      if (l) {
        for (const client of l.app.websocketServer.clients) client.terminate()
        await l.app.close()
      }
      // Also closes idle keep-alive connections (Node 19+); waits for requests in flight.
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Loads fastify and @fastify/websocket and builds the API on `server` (already listening on `port`). */
async function buildApp(server: Server, port: number, o: ControlServerOptions): Promise<Loaded> {
  const [{ default: Fastify }, { default: websocket }] = await Promise.all([import('fastify'), import('@fastify/websocket')])
  let handle: Loaded['handle'] | undefined
  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    schemaController: { compilersFactory: noFastifySchemas },
    serverFactory: (handler) => {
      handle = handler
      return server
    },
  })
  const hosts = () => new Set(LOOPBACK_HOSTS.map((h) => `${h}:${port}`))
  const origins = () => new Set([...LOOPBACK_HOSTS.map((h) => `http://${h}:${port}`), ...(o.allowedOrigins ?? [])])

  // The plugin first: its own onRequest hook marks an upgrade request, so that its onResponse hook
  // closes the socket of an upgrade the checks below refuse. Registered after them, it never saw
  // those requests: the refused socket stayed open and kept server.close() (and the agent's
  // SIGTERM) waiting for it.
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } })

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

  const { agent } = o

  app.get('/api/status', async () => v.parse(statusSchema, agent.status()))
  app.get('/api/products', async () => v.parse(productsSchema, agent.products()))
  app.post('/api/products', async (req, reply) => {
    const body = parse(addProductRequestSchema, req.body, 'product')
    const own = [body.channelUrl, ...(body.mirrors ?? [])].find((url) => isOwnApiAddress(url, port))
    if (own !== undefined) throw new AgentError(400, 'E_USAGE', `${own} is this agent's own control API, not a CDN`)
    return reply.code(201).send(v.parse(productSchema, await agent.addProduct(body)))
  })
  app.delete('/api/products/:id', async (req, reply) => {
    await agent.removeProduct(idParam(req))
    return reply.code(204).send()
  })
  app.post('/api/products/:id/check', async (req) => v.parse(productSchema, await agent.checkProduct(idParam(req))))
  app.get('/api/jobs', async () => v.parse(jobsSchema, agent.status().jobs))
  app.post('/api/jobs', async (req, reply) => reply.code(201).send(v.parse(jobSchema, agent.createJob(parse(createJobRequestSchema, req.body, 'job')))))
  app.post('/api/jobs/:id/:action', async (req) => {
    const action = parse(jobActionSchema, (req.params as Record<string, string>)['action'], 'action')
    return v.parse(jobSchema, await agent.jobAction(idParam(req), action))
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
  app.get('/api/settings', async () => v.parse(settingsViewSchema, agent.settingsView()))
  app.patch('/api/settings', async (req) => v.parse(settingsViewSchema, await agent.patchSettings(parse(settingsPatchSchema, req.body, 'settings'))))
  app.get('/api/history', async () => v.parse(historySchema, agent.history()))

  app.get('/api/events', { websocket: true }, (socket) => {
    const send = (event: ApiEvent) => socket.send(JSON.stringify(v.parse(apiEventSchema, event)))
    const unsubscribe = agent.hub.subscribe(send)
    socket.on('message', (data: Buffer) => {
      let message: unknown
      try {
        message = JSON.parse(data.toString())
      } catch {
        message = undefined
      }
      // 1008: policy violation, the close code for a message that breaks the contract.
      if (!v.is(clientMessageSchema, message)) return socket.close(1008, 'invalid message')
      send({ type: 'snapshot', status: agent.status() })
    })
    socket.on('close', unsubscribe)
  })

  await app.ready()
  return { app, handle: handle! }
}
