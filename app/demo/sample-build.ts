import { createCipheriv, createHash } from 'node:crypto'
import { chmod, copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { listFiles } from '../release/list-files.ts'

// Deterministic sample releases for the demo, tests and bench: the same seed
// always gives the same bytes, so figures are comparable between runs.

/** Pseudo-random bytes from AES-128-CTR keyed by the seed: fast and reproducible. */
export function seededBytes(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(seed).digest()
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32))
  return cipher.update(Buffer.alloc(length))
}

const WORDS = 'asset texture mesh shader level quest player sword shield dragon castle forest river stone light shadow sound music voice menu option config engine render physics network update patch version'.split(' ')

/** Compressible, text-like bytes (config files, scripts, localisation). */
export function seededText(seed: string, length: number): Buffer {
  const noise = seededBytes(seed, Math.ceil(length / 4) + 16)
  const parts: string[] = []
  let size = 0
  for (let i = 0; size < length; i++) {
    const w = WORDS[noise[i % noise.length]! % WORDS.length]!
    const line = i % 12 === 11 ? `${w} = ${noise.readUInt16LE(i % (noise.length - 2))}\n` : `${w} `
    parts.push(line)
    size += line.length
  }
  return Buffer.from(parts.join('')).subarray(0, length)
}

export interface SampleFile {
  readonly path: string
  readonly size: number
  readonly kind: 'binary' | 'text'
  readonly executable?: boolean
}

/** A game-like layout: a few large packed assets, many small ones, some text, an executable. */
export function sampleLayout(totalBytes: number): SampleFile[] {
  const files: SampleFile[] = [{ path: 'bin/game', size: Math.max(4096, Math.floor(totalBytes * 0.04)), kind: 'binary', executable: true }]
  const bigShare = Math.floor(totalBytes * 0.7)
  for (let i = 0; i < 3; i++) files.push({ path: `data/assets${i}.pak`, size: Math.floor(bigShare / 3), kind: 'binary' })
  const textShare = Math.floor(totalBytes * 0.1)
  for (let i = 0; i < 20; i++) files.push({ path: `scripts/module${String(i).padStart(2, '0')}.lua`, size: Math.floor(textShare / 20), kind: 'text' })
  const smallShare = totalBytes - files.reduce((n, f) => n + f.size, 0)
  for (let i = 0; i < 40; i++) files.push({ path: `data/sounds/sfx${String(i).padStart(3, '0')}.ogg`, size: Math.max(1, Math.floor(smallShare / 40)), kind: 'binary' })
  return files
}

export async function writeSampleBuild(dir: string, totalBytes: number, seed: string): Promise<SampleFile[]> {
  const files = sampleLayout(totalBytes)
  for (const f of files) {
    const path = join(dir, f.path)
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, f.kind === 'text' ? seededText(`${seed}/${f.path}`, f.size) : seededBytes(`${seed}/${f.path}`, f.size))
    if (f.executable) await chmod(path, 0o755)
  }
  return files
}

export interface UpdateSummary {
  readonly editedFiles: number
  readonly changedBytes: number
}

/**
 * Copies a build into `toDir` with the changes of a typical point release: small
 * edits scattered through the large assets, an insertion near the start of one,
 * a rewritten script, one file removed and one added.
 */
export async function writeUpdatedBuild(fromDir: string, toDir: string, seed: string): Promise<UpdateSummary> {
  const paths = await listFiles(fromDir)
  let changedBytes = 0
  let editedFiles = 0
  for (const rel of paths) {
    const src = join(fromDir, rel)
    const dst = join(toDir, rel)
    await mkdir(dirname(dst), { recursive: true })
    if (rel === 'data/sounds/sfx000.ogg') continue
    if (rel.startsWith('data/assets')) {
      const buf = await readFile(src)
      const patch = seededBytes(`${seed}/${rel}`, 24 * 2048)
      for (let e = 0; e < 24; e++) {
        const at = Math.floor(((e + 0.5) / 24) * (buf.length - 2048))
        patch.copy(buf, at, e * 2048, e * 2048 + 2048)
      }
      changedBytes += 24 * 2048
      const insertion = rel.endsWith('0.pak') ? seededBytes(`${seed}/insert`, 4096) : Buffer.alloc(0)
      changedBytes += insertion.length
      await writeFile(dst, Buffer.concat([buf.subarray(0, 1000), insertion, buf.subarray(1000)]))
      editedFiles++
    } else if (rel === 'scripts/module03.lua') {
      const buf = await readFile(src)
      const text = seededText(`${seed}/${rel}`, buf.length)
      changedBytes += text.length
      await writeFile(dst, text)
      editedFiles++
    } else {
      await copyFile(src, dst)
      await chmod(dst, (await stat(src)).mode & 0o777)
    }
  }
  const added = seededBytes(`${seed}/new`, 256 * 1024)
  await mkdir(join(toDir, 'data', 'dlc'), { recursive: true })
  await writeFile(join(toDir, 'data', 'dlc', 'new-map.pak'), added)
  return { editedFiles: editedFiles + 1, changedBytes: changedBytes + added.length }
}
