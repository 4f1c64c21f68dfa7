import { describe, expect, it } from 'vitest'
import { patchCandidates, patchWorthKeeping, PATCH_ENTRY_BYTES, PATCH_MAX_FILE_BYTES } from '../../../app/release/patch-planner.ts'
import { planInstall } from '../../../app/engine/install/install-plan.ts'
import type { Manifest } from '../../../shared/release-schema.ts'

const sha = (c: string) => c.repeat(64)
const file = (path: string, sha256: string, chunks: number[], size = 4096) => ({ path, mode: 0o644 as const, size, sha256, chunks })
const stored = () => 1000

describe('patch candidates (publisher)', () => {
  const v1 = { version: '1.0.0', files: [file('bin/app', sha('a'), [0, 1, 2]), file('lib/old.so', sha('b'), [3, 4, 5]), file('same.txt', sha('c'), [6])] } as unknown as Manifest
  const v2 = { version: '1.1.0', files: [file('bin/app', sha('d'), [7, 1, 2]), file('lib/x.so', sha('e'), [3, 8, 9])] } as unknown as Manifest

  it('pairs each changed file with the same path, or a removed file by shared chunks, newest version first', () => {
    const next = [
      { path: 'bin/app', size: 4096, sha256: sha('f'), chunks: [10, 11, 12] },
      { path: 'lib/new.so', size: 4096, sha256: sha('g'), chunks: [3, 13, 14] },
      { path: 'same.txt', size: 4096, sha256: sha('c'), chunks: [6] },
    ]
    const c = patchCandidates(next, [v2, v1], stored)
    expect(c.map((x) => [x.file, x.fromVersion, x.from.path, x.chunkCost])).toEqual([
      [0, '1.1.0', 'bin/app', 3000],
      // lib/x.so is gone from the new release and shares chunk 3 with lib/new.so.
      [1, '1.1.0', 'lib/x.so', 2000],
      [0, '1.0.0', 'bin/app', 3000],
      [1, '1.0.0', 'lib/old.so', 2000],
    ])
  })

  it('skips unchanged files, files past the size bound, and files whose new chunks cost less than an entry', () => {
    const next = [
      { path: 'same.txt', size: 4096, sha256: sha('c'), chunks: [6] },
      { path: 'bin/app', size: PATCH_MAX_FILE_BYTES + 1, sha256: sha('f'), chunks: [10] },
    ]
    expect(patchCandidates(next, [v1], stored)).toEqual([])
    expect(patchCandidates([{ path: 'bin/app', size: 10, sha256: sha('f'), chunks: [10] }], [v1], () => PATCH_ENTRY_BYTES)).toEqual([])
  })

  it('keeps a patch only when it undercuts the chunks by the margin, its entry counted', () => {
    expect(patchWorthKeeping(100, 10_000)).toBe(true)
    expect(patchWorthKeeping(9_000, 10_000)).toBe(false)
    expect(patchWorthKeeping(8_700 - PATCH_ENTRY_BYTES, 10_000)).toBe(true)
  })
})

describe('patch choice (client)', () => {
  const digests = (n: number) => Buffer.concat(Array.from({ length: n }, (_, i) => Buffer.alloc(32, i))).toString('base64')
  const installed = { files: [file('bin/app', sha('a'), [0, 1])], chunks: { size: [2048, 2048], stored: [2048, 2048], sha256: digests(2) } } as unknown as Manifest
  const next = (patchSize: number, fromSha = sha('a')) =>
    ({
      files: [file('bin/app', sha('b'), [2, 3])],
      chunks: { size: [2048, 2048, 2048, 2048, patchSize], stored: [2048, 2048, 2000, 2000, patchSize], sha256: digests(5) },
      patches: [{ file: 0, fromVersion: '1.0.0', fromSha256: fromSha, toSha256: sha('b'), size: patchSize, storeOffset: 0, chunks: [4] }],
      totals: { bytes: 4096 },
    }) as unknown as Manifest

  it('takes the patch when it costs fewer bytes than the chunks the CDN would send, and stages its bytes as an extra file', () => {
    const plan = planInstall(next(300), installed)
    expect(plan.patches).toEqual([{ patch: 0, file: 0, from: 'bin/app' }])
    expect(Array.from(plan.targets.chunks)).toEqual([4])
    expect(plan.lists[1]).toEqual([4])
  })

  it('takes chunks when the patch is dearer, or applies to no installed file', () => {
    expect(planInstall(next(4500), installed).patches).toEqual([])
    const other = planInstall(next(300, sha('9')), installed)
    expect(other.patches).toEqual([])
    expect(Array.from(other.targets.chunks)).toEqual([2, 3])
  })
})
