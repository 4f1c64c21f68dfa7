// Worker thread for installs: stored bytes → raw chunk → SHA-256 check → write to
// every staged position. Unverified bytes never reach a staged file.
import { closeSync, fstatSync, openSync, readFileSync, readSync, writeFileSync, writevSync } from 'node:fs'
import { createHash, hash, type Hash } from 'node:crypto'
import { parentPort } from 'node:worker_threads'
import { rawChunk } from '../../release/store-reader.ts'
import { applyPatch as decodePatch } from '../../release/file-patch.ts'
import { serveWorker } from '../../release/worker-pool.ts'
import { fileIdentity, pieceIdentity } from '../storage/file-identity.ts'
import { garbageBound } from './garbage-bound.ts'
import { ITEM_FIELDS, TARGET_FIELDS, type ApplyPatchResult, type ApplyPatchTask, type HashSpanResult, type HashSpanTask, type PlacePieceResult, type PlacePieceTask, type PlaceResult, type ReadPieceResult, type ReadPieceTask, SEGMENT_FIELDS, type PlaceTask, type PlacementResult, type PlacementTask, type VerifyFileResult, type VerifyFileTask } from './placement-tasks.ts'

const MAX_OPEN = 64
const open = new Map<string, number>()
/** Release files read for uploads; a file replaced since (an update) gets a new identity. */
const readFds = new Map<string, number>()

/** Files stay open between tasks; the least recently opened is closed past MAX_OPEN. */
function cachedFd(fds: Map<string, number>, path: string, flags: 'r' | 'r+'): number {
  let fd = fds.get(path)
  if (fd === undefined) {
    if (fds.size >= MAX_OPEN) {
      const [oldest, oldFd] = fds.entries().next().value as [string, number]
      closeSync(oldFd)
      fds.delete(oldest)
    }
    fd = openSync(path, flags)
    fds.set(path, fd)
  }
  return fd
}

/** A staged file, open for writing. */
const fdFor = (path: string) => cachedFd(open, path, 'r+')

interface PendingWrite {
  readonly offset: number
  readonly data: Uint8Array
}

/**
 * Writes go to the kernel in pieces of at most this many bytes. A large write makes the page
 * cache allocate large folios, and here (a VM whose free 2 MiB blocks go back to the host) that
 * cost 5-8x the CPU: 1 GiB took 2.3-3.6 s of system time in 8 MiB writes and 0.3-0.6 s in
 * 16-128 KiB writes. Small writes are also what aria2c does.
 */
const WRITE_BYTES = 128 * 1024

/** Writes each file's pieces in offset order, back-to-back pieces gathered into one bounded writev. */
function flushWrites(writes: Map<string, PendingWrite[]>): void {
  for (const [path, list] of writes) {
    list.sort((a, b) => a.offset - b.offset)
    const fd = fdFor(path)
    let run: Uint8Array[] = []
    let runStart = 0
    let runBytes = 0
    const flush = () => {
      if (runBytes > 0) writeFully(fd, run, runStart)
      run = []
      runBytes = 0
    }
    for (const w of list) {
      for (let at = 0; at < w.data.length; ) {
        if (runBytes > 0 && runStart + runBytes !== w.offset + at) flush()
        if (runBytes === 0) runStart = w.offset + at
        const take = Math.min(w.data.length - at, WRITE_BYTES - runBytes)
        run.push(w.data.subarray(at, at + take))
        runBytes += take
        at += take
        if (runBytes >= WRITE_BYTES) flush()
      }
    }
    flush()
  }
}

function writeFully(fd: number, buffers: Uint8Array[], position: number): void {
  const pending = [...buffers]
  let at = position
  while (pending.length > 0) {
    let written = writevSync(fd, pending, at)
    at += written
    // A short write: drop what was written and continue with the rest.
    while (pending.length > 0 && written >= pending[0]!.length) written -= pending.shift()!.length
    if (written > 0) pending[0] = pending[0]!.subarray(written)
  }
}

function readExactly(fd: number, length: number, position: number): Buffer | undefined {
  const buf = Buffer.allocUnsafe(length)
  let done = 0
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done)
    if (n === 0) return undefined
    done += n
  }
  return buf
}

function place(task: PlaceTask): PlaceResult {
  const bad: number[] = []
  // Digests compared as latin1 ("binary") strings, one character per byte: a Buffer per chunk's digest
  // cost 8 % more CPU for 57k chunks, most of it the collector tracking their backing stores.
  const digests = Buffer.from(task.sha256.buffer, task.sha256.byteOffset, task.sha256.length).toString('binary')
  const writes = new Map<string, PendingWrite[]>()
  let written = 0
  const sourceFd = 'path' in task.source ? openSync(task.source.path, 'r') : undefined
  try {
    for (let i = 0; i * ITEM_FIELDS < task.items.length; i++) {
      const f = i * ITEM_FIELDS
      const at = task.items[f]!
      const storedSize = task.items[f + 1]!
      const size = task.items[f + 2]!
      const expected = digests.slice(i * 32, i * 32 + 32)
      let raw: Buffer | undefined
      try {
        const stored = 'bytes' in task.source ? task.source.bytes.subarray(at, at + storedSize) : readExactly(sourceFd!, storedSize, at)
        // A chunk that does not decompress is only counted bad, as one that fails its hash: no message to build.
        raw = stored && rawChunk(stored, size, 'chunk')
      } catch {
        raw = undefined
      }
      if (!raw || hash('sha256', raw, 'binary') !== expected) {
        bad.push(i)
        continue
      }
      written += queueTargets(task, i, raw, writes)
    }
    flushWrites(writes)
  } finally {
    if (sourceFd !== undefined) closeSync(sourceFd)
  }
  return { bad, written, returned: 'bytes' in task.source ? (task.source.bytes.buffer as ArrayBuffer) : undefined }
}

/** Queues every target of item `i` (bytes `data`) for writing; returns the bytes queued. */
function queueTargets(task: { readonly paths: readonly string[]; readonly items: Float64Array; readonly targets: Float64Array }, i: number, data: Uint8Array, writes: Map<string, PendingWrite[]>): number {
  const firstTarget = task.items[i * ITEM_FIELDS + 3]!
  const targetCount = task.items[i * ITEM_FIELDS + 4]!
  for (let t = firstTarget; t < firstTarget + targetCount; t++) {
    const path = task.paths[task.targets[t * TARGET_FIELDS]!]!
    const write = { offset: task.targets[t * TARGET_FIELDS + 1]!, data }
    const list = writes.get(path)
    if (list) list.push(write)
    else writes.set(path, [write])
  }
  return data.length * targetCount
}

function placePiece(task: PlacePieceTask): PlacePieceResult {
  const returned = task.bytes.buffer as ArrayBuffer
  const expected = Buffer.from(task.sha1.buffer, task.sha1.byteOffset, task.sha1.length).toString('binary')
  if (hash('sha1', task.bytes, 'binary') !== expected) return { ok: false, written: 0, returned }
  const writes = new Map<string, PendingWrite[]>()
  let written = 0
  for (let i = 0; i * ITEM_FIELDS < task.items.length; i++) {
    const at = task.items[i * ITEM_FIELDS]!
    written += queueTargets(task, i, task.bytes.subarray(at, at + task.items[i * ITEM_FIELDS + 2]!), writes)
  }
  flushWrites(writes)
  return { ok: true, written, returned }
}

/** Device, inode, size and mtime of each file, in order: a piece's files as they were when it verified. */
function identityOf(paths: readonly string[]): string {
  return pieceIdentity(paths.map((path) => fileIdentity(fstatSync(cachedFd(readFds, path, 'r')))))
}

/** Bytes [from, to) of the piece `segments` lay out, to `bytes`' start; false when a file is short. */
function readSegments(task: ReadPieceTask, bytes: Buffer, from: number, to: number): boolean {
  // What no segment covers is the zero padding between release sections.
  bytes.fill(0, 0, to - from)
  for (let i = 0; i * SEGMENT_FIELDS < task.segments.length; i++) {
    const f = i * SEGMENT_FIELDS
    const at = task.segments[f + 2]!
    const start = Math.max(at, from)
    const end = Math.min(at + task.segments[f + 3]!, to)
    if (start >= end) continue
    const fd = cachedFd(readFds, task.paths[task.segments[f]!]!, 'r')
    const position = task.segments[f + 1]! + (start - at)
    let done = 0
    while (done < end - start) {
      const n = readSync(fd, bytes, start - from + done, end - start - done, position + done)
      if (n === 0) return false
      done += n
    }
  }
  return true
}

function readPiece(task: ReadPieceTask): ReadPieceResult {
  if (task.placedHere) {
    const { from, to } = task.range ?? { from: 0, to: task.length }
    return { ok: readSegments(task, Buffer.from(task.into, 0, to - from), from, to), into: task.into, identity: '' }
  }
  const identity = identityOf(task.paths)
  if (task.range) {
    const { from, to } = task.range
    if (identity !== task.identity) return { ok: false, changed: true, into: task.into, identity }
    return { ok: readSegments(task, Buffer.from(task.into, 0, to - from), from, to), into: task.into, identity }
  }
  const bytes = Buffer.from(task.into, 0, task.length)
  if (!readSegments(task, bytes, 0, task.length)) return { ok: false, into: task.into, identity: '' }
  if (identity === task.identity) return { ok: true, into: task.into, identity }
  const expected = Buffer.from(task.sha1.buffer, task.sha1.byteOffset, task.sha1.length).toString('binary')
  return { ok: hash('sha1', bytes, 'binary') === expected, into: task.into, identity }
}

function verifyFile(task: VerifyFileTask): VerifyFileResult {
  const all = { bad: task.sizes.map((_, i) => i), fileOk: false }
  let fd: number
  try {
    fd = openSync(task.path, 'r')
  } catch {
    return all
  }
  try {
    const expected = task.sizes.reduce((a, b) => a + b, 0)
    if (fstatSync(fd).size !== expected) return all
    // A one-chunk file whose SHA-256 is its chunk's is checked whole by the chunk check: one hash, not two.
    const whole = task.sizes.length === 1 && task.sha256s[0] === task.fileSha256 ? undefined : createHash('sha256')
    const bad: number[] = []
    let offset = 0
    task.sizes.forEach((size, i) => {
      const bytes = readExactly(fd, size, offset)
      if (!bytes || hash('sha256', bytes, 'hex') !== task.sha256s[i]) bad.push(i)
      if (bytes) whole?.update(bytes)
      offset += size
    })
    return { bad, fileOk: bad.length === 0 && (whole === undefined || whole.digest('hex') === task.fileSha256) }
  } finally {
    closeSync(fd)
  }
}

const running = new Map<string, { readonly hash: Hash; at: number }>()
const spanBuffer = Buffer.allocUnsafe(1024 * 1024)

function hashSpan(task: HashSpanTask): HashSpanResult {
  if (task.from === 0) running.set(task.path, { hash: createHash('sha256'), at: 0 })
  const state = running.get(task.path)
  if (!state || state.at !== task.from) throw new Error(`hash of ${task.path} is at byte ${state?.at ?? 'none'}, not ${task.from}`)
  const fd = fdFor(task.path)
  while (state.at < task.to) {
    const n = readSync(fd, spanBuffer, 0, Math.min(spanBuffer.length, task.to - state.at), state.at)
    if (n === 0) throw new Error(`${task.path} ends before byte ${task.to}`)
    state.hash.update(spanBuffer.subarray(0, n))
    state.at += n
  }
  if (!task.final) return { sha256: undefined }
  running.delete(task.path)
  return { sha256: state.hash.digest('hex') }
}

function applyPatch(task: ApplyPatchTask): ApplyPatchResult {
  const started = performance.now()
  const fail = (reason: string): ApplyPatchResult => ({ failure: { code: 'E_VERIFY', reason }, seconds: (performance.now() - started) / 1000 })
  let old: Buffer
  let patch: Buffer
  try {
    old = readFileSync(task.oldPath)
    patch = readFileSync(task.patchPath)
  } catch (err) {
    return fail(`cannot read ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'a file it needs' : (err as Error).message}`)
  }
  if (hash('sha256', old, 'hex') !== task.oldSha256) return fail('the installed file it applies to differs from the one the patch was made from')
  if (patch.length !== task.patchSize) return fail('the staged patch is incomplete')
  const built = decodePatch(old, patch, task.size)
  if (built instanceof Error) return fail(built.message)
  if (hash('sha256', built, 'hex') !== task.sha256) return fail("the patched file does not match the manifest's SHA-256")
  writeFileSync(task.outPath, built)
  return { failure: undefined, seconds: (performance.now() - started) / 1000 }
}

/** Bytes a task moves through this worker, for garbageBound. */
function taskBytes(task: PlacementTask): number {
  switch (task.kind) {
    case 'place': {
      let stored = 0
      for (let f = 1; f < task.items.length; f += ITEM_FIELDS) stored += task.items[f]!
      return stored
    }
    case 'placePiece':
      return task.bytes.length
    case 'readPiece':
      return task.range ? task.range.to - task.range.from : task.length
    case 'verifyFile':
      return task.sizes.reduce((a, b) => a + b, 0)
    case 'hashSpan':
      return task.to - task.from
    case 'applyPatch':
      return task.size
  }
}

const boundGarbage = garbageBound()

serveWorker<PlacementTask, PlacementResult>(parentPort!, (task) => {
  boundGarbage(taskBytes(task))
  switch (task.kind) {
    case 'place': {
      const result = place(task)
      return { result, transfer: result.returned ? [result.returned] : [] }
    }
    case 'placePiece': {
      const result = placePiece(task)
      return { result, transfer: [result.returned] }
    }
    case 'readPiece': {
      const result = readPiece(task)
      return { result, transfer: [result.into] }
    }
    case 'verifyFile':
      return { result: verifyFile(task), transfer: [] }
    case 'hashSpan':
      return { result: hashSpan(task), transfer: [] }
    case 'applyPatch':
      return { result: applyPatch(task), transfer: [] }
  }
})
