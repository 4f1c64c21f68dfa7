import { zstdDecompressSync } from 'node:zlib'
import { ShoalError } from '../../shared/errors.ts'

/** Raw chunk bytes from their CDN store form: zstd when smaller than the raw size, raw otherwise. */
export function rawChunk(stored: Uint8Array, rawSize: number, where: string): Buffer {
  if (stored.length === rawSize) return Buffer.from(stored.buffer, stored.byteOffset, stored.length)
  let raw: Buffer
  try {
    raw = zstdDecompressSync(stored, { maxOutputLength: rawSize })
  } catch {
    throw new ShoalError('E_SCHEMA', `${where}: stored chunk does not decompress to ${rawSize} bytes`)
  }
  if (raw.length !== rawSize) throw new ShoalError('E_SCHEMA', `${where}: stored chunk decompresses to ${raw.length} bytes, expected ${rawSize}`)
  return raw
}
