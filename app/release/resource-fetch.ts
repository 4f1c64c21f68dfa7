import { open } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { resolve as resolvePath } from 'node:path'
import { ShoalError } from '../../shared/errors.ts'
import { followRedirect, isRedirect } from './redirect-rule.ts'

/** No byte for this long fails the fetch. */
const IDLE_TIMEOUT_MS = 30_000

/** A pointer location from the command line: an http(s) URL or a local file path. */
export function locationToUrl(location: string): URL {
  if (/^https?:\/\//i.test(location) || location.startsWith('file:')) return new URL(location)
  return pathToFileURL(resolvePath(location))
}

/** Reads a small document (pointer, manifest) from a file: or http(s): URL, refusing more than `maxBytes`; follows redirects as redirect-rule.ts allows. */
export async function fetchBytes(url: URL, maxBytes: number, what: string): Promise<Buffer> {
  if (url.protocol === 'file:') return readLocal(fileURLToPath(url), maxBytes, what)
  const { res, at } = await request(url, undefined, what)
  if (res.statusCode !== 200) {
    res.destroy()
    throw new ShoalError('E_FETCH', `${what}: ${at.href} answered HTTP ${res.statusCode}`)
  }
  return readBody(res, at, maxBytes, what)
}

/** Bytes `start` to `end` (exclusive) of a file: or http(s): resource, by an HTTP Range request; anything but exactly those bytes is E_FETCH. */
export async function fetchRange(url: URL, start: number, end: number, what: string): Promise<Buffer> {
  const length = end - start
  if (url.protocol === 'file:') {
    const handle = await open(fileURLToPath(url), 'r').catch((err: NodeJS.ErrnoException) => {
      throw new ShoalError('E_FETCH', `${what}: cannot open ${fileURLToPath(url)}: ${err.code ?? err.message}`)
    })
    try {
      const bytes = Buffer.alloc(length)
      const { bytesRead } = await handle.read(bytes, 0, length, start)
      if (bytesRead !== length) throw new ShoalError('E_FETCH', `${what}: ${url.href} ends before byte ${end}`)
      return bytes
    } finally {
      await handle.close()
    }
  }
  const { res, at } = await request(url, `bytes=${start}-${end - 1}`, what)
  // A 200 would be the whole file: a server that ignores ranges is refused rather than read whole.
  if (res.statusCode !== 206 || !res.headers['content-range']?.startsWith(`bytes ${start}-${end - 1}/`)) {
    res.destroy()
    throw new ShoalError('E_FETCH', `${what}: ${at.href} answered HTTP ${res.statusCode} to a range request for bytes ${start}-${end - 1}`, 'the CDN must serve byte ranges')
  }
  const bytes = await readBody(res, at, length, what)
  if (bytes.length !== length) throw new ShoalError('E_FETCH', `${what}: ${at.href} sent ${bytes.length} bytes of the ${length} asked for`)
  return bytes
}

/** The response head of a GET, after the redirects redirect-rule.ts allows. */
async function request(url: URL, range: string | undefined, what: string): Promise<{ res: IncomingMessage; at: URL }> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ShoalError('E_USAGE', `${what}: unsupported URL scheme ${url.protocol}`)
  for (let hops = 0; ; hops++) {
    let res: IncomingMessage
    try {
      res = await answer(url, range)
    } catch (err) {
      throw new ShoalError('E_FETCH', `${what}: cannot fetch ${url.href}: ${(err as Error).message}`, 'check the URL and that the server is reachable')
    }
    if (!isRedirect(res.statusCode ?? 0)) return { res, at: url }
    res.destroy()
    const next = followRedirect(url, res.headers.location, hops)
    if (!next.ok) throw new ShoalError('E_FETCH', `${what}: ${url.href} answered with ${next.problem}`)
    url = next.url
  }
}

async function readBody(res: IncomingMessage, url: URL, maxBytes: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = []
  let total = 0
  try {
    for await (const part of res) {
      total += (part as Buffer).length
      if (total > maxBytes) {
        res.destroy()
        throw new ShoalError('E_LIMIT', `${what}: ${url.href} is larger than ${maxBytes} bytes`)
      }
      parts.push(part as Buffer)
    }
  } catch (err) {
    if (err instanceof ShoalError) throw err
    throw new ShoalError('E_FETCH', `${what}: ${url.href} broke off after ${total} bytes: ${(err as Error).message}`, 'check that the server is reachable')
  }
  return Buffer.concat(parts)
}

/**
 * The response head of a GET over Node's own http/https (its global agents keep the connection
 * alive for the next document, and idle sockets do not hold the process open): undici, over 100
 * modules, then loads only for an https: mirror.
 */
function answer(url: URL, range: string | undefined): Promise<IncomingMessage> {
  // getBuiltinModule, not `import`: an ES import of node:http evaluates all its lazy exports,
  // and its WebSocket loads Node's bundled undici, http2 and web streams (3 MB of heap here).
  const { get } = process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http')
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: IDLE_TIMEOUT_MS, ...(range ? { headers: { range } } : {}) }, resolve)
    req.on('timeout', () => req.destroy(new Error(`no bytes for ${IDLE_TIMEOUT_MS / 1000} s`)))
    req.on('error', reject)
  })
}

async function readLocal(path: string, maxBytes: number, what: string): Promise<Buffer> {
  const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new ShoalError('E_IO', `${what}: cannot open ${path}: ${err.code ?? err.message}`)
  })
  try {
    const { size } = await handle.stat()
    if (size > maxBytes) throw new ShoalError('E_LIMIT', `${what}: ${path} is ${size} bytes, more than ${maxBytes}`)
    return await handle.readFile()
  } finally {
    await handle.close()
  }
}
