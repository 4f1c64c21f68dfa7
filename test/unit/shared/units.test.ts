import { describe, expect, it } from 'vitest'
import { formatBytes, parseBytes, parseDuration } from '../../../shared/units.ts'

describe('units', () => {
  it('parses sizes with binary and decimal units', () => {
    expect([parseBytes('65536'), parseBytes('64K'), parseBytes('64KiB'), parseBytes('4MiB'), parseBytes('1GB')]).toEqual([65536, 65536, 65536, 4194304, 1e9])
    expect([parseBytes('x'), parseBytes('4 parsecs'), parseBytes('-1')]).toEqual([undefined, undefined, undefined])
  })
  it('parses durations', () => {
    expect([parseDuration('30d'), parseDuration('90s'), parseDuration('2h'), parseDuration('soon')]).toEqual([2_592_000_000, 90_000, 7_200_000, undefined])
  })
  it('formats bytes', () => {
    expect([formatBytes(512), formatBytes(1536), formatBytes(5 * 2 ** 30)]).toEqual(['512 B', '1.50 KiB', '5.00 GiB'])
  })
})
