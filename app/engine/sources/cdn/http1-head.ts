// The head of an HTTP/1.x response: status, headers, body framing and whether the connection stays open.

export interface ResponseHead {
  readonly status: number
  /** The first value of a header, by lower-case name. */
  header(name: string): string | undefined
}

export interface Chunked {
  readonly kind: 'chunked'
  state: 'size' | 'data' | 'data-end' | 'trailer' | 'done'
  remaining: number
  line: string
}
export type Framing = { readonly kind: 'length'; remaining: number } | Chunked | { readonly kind: 'close' }

/** A response's status line and headers, and how its body is framed. */
export function parseHead(text: string): { head: ResponseHead; framing: Framing; keepAlive: boolean } {
  const lines = text.split('\r\n')
  const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]!)
  if (!m) throw new Error(`not an HTTP/1.x response: "${lines[0]!.slice(0, 80)}"`)
  const headers = new Map<string, string>()
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim())
  }
  const status = Number(m[2])
  const length = headers.get('content-length')
  let framing: Framing
  if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) framing = { kind: 'chunked', state: 'size', remaining: 0, line: '' }
  else if (status === 204 || status === 304) framing = { kind: 'length', remaining: 0 }
  else if (length !== undefined && /^\d+$/.test(length)) framing = { kind: 'length', remaining: Number(length) }
  else framing = { kind: 'close' }
  const connection = headers.get('connection')?.toLowerCase() ?? ''
  const keepAlive = (m[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive')) && framing.kind !== 'close'
  return { head: { status, header: (name) => headers.get(name) }, framing, keepAlive }
}
