import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { recordParts } from '../../../app/engine/install/release-record.ts'

describe('release record', () => {
  it('writes the record in parts that join into the JSON of the whole record', () => {
    // Sizes around the base64 part (768 KiB of input), so parts end mid-manifest and on its last byte.
    for (const size of [0, 1, 786_432, 786_433, 2 * 786_432 + 2]) {
      const manifest = randomBytes(size)
      for (const previous of [null, randomBytes(size + 7)]) {
        const row = { product: 'game', version: '1.2.0', manifest, pubkey_id: 'k1', installed_at: '2026-12-07T00:00:00.000Z', previous_version: previous ? '1.1.0' : null, previous_manifest: previous, product_root: 'https://cdn.example/game/', mirrors: '["https://m.example/game/"]' }
        const parts = [...recordParts(row)]
        if (size > 786_432) expect(parts.length).toBeGreaterThan(3)
        expect(JSON.parse(parts.join(''))).toEqual({ ...row, manifest: manifest.toString('base64'), previous_manifest: previous?.toString('base64') ?? null })
      }
    }
  })
})
