import { open } from 'node:fs/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { resolve as resolvePath } from 'node:path'
import { request } from 'undici'
import { ShoalError } from '../../shared/errors.ts'

/** A pointer location from the command line: an http(s) URL or a local file path. */
export function locationToUrl(location: string): URL {
  if (/^https?:\/\//i.test(location) || location.startsWith('file:')) return new URL(location)
  return pathToFileURL(resolvePath(location))
}

/** Reads a small document (pointer, manifest) from a file: or http(s): URL, refusing more than `maxBytes`. */
export async function fetchBytes(url: URL, maxBytes: number, what: string): Promise<Buffer> {
  if (url.protocol === 'file:') return readLocal(fileURLToPath(url), maxBytes, what)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ShoalError('E_USAGE', `${what}: unsupported URL scheme ${url.protocol}`)
  let res
  try {
    res = await request(url, { headersTimeout: 30_000, bodyTimeout: 30_000 })
  } catch (err) {
    throw new ShoalError('E_FETCH', `${what}: cannot fetch ${url.href}: ${(err as Error).message}`, 'check the URL and that the server is reachable')
  }
  if (res.statusCode !== 200) {
    await res.body.dump()
    throw new ShoalError('E_FETCH', `${what}: ${url.href} answered HTTP ${res.statusCode}`)
  }
  const parts: Buffer[] = []
  let total = 0
  for await (const part of res.body) {
    total += (part as Buffer).length
    if (total > maxBytes) {
      res.body.destroy()
      throw new ShoalError('E_LIMIT', `${what}: ${url.href} is larger than ${maxBytes} bytes`)
    }
    parts.push(part as Buffer)
  }
  return Buffer.concat(parts)
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
