// How numbers read in the UI: rates, durations, ratios and caps.

/** Rates in decimal units (MB/s), the unit people type caps in and ISPs sell. */
export function formatRate(bytesPerSecond: number): string {
  const steps = ['B/s', 'kB/s', 'MB/s', 'GB/s']
  let v = Math.max(0, bytesPerSecond)
  let i = 0
  while (v >= 1000 && i < steps.length - 1) {
    v /= 1000
    i++
  }
  return i === 0 ? `${Math.round(v)} B/s` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${steps[i]}`
}

export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—'
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

export function formatPercent(ratio: number): string {
  return `${(Math.max(0, Math.min(1, ratio)) * 100).toFixed(ratio >= 1 || ratio === 0 ? 0 : 1)} %`
}

const MB = 1_000_000

/** A cap in bytes per second as the MB/s text of an input; empty for unlimited. */
export function capToInput(cap: number | null): string {
  return cap === null ? '' : String(Math.round((cap / MB) * 100) / 100)
}

/** The MB/s text of an input as a cap; null for empty (unlimited), undefined when not a positive number. */
export function inputToCap(text: string): number | null | undefined {
  const t = text.trim()
  if (t === '') return null
  const n = Number(t)
  if (!Number.isFinite(n) || n <= 0) return undefined
  return Math.max(1, Math.round(n * MB))
}

/** Same as inputToCap, for sizes typed in GB (monthly upload cap). */
export function inputToGigabytes(text: string): number | null | undefined {
  const cap = inputToCap(text)
  return cap === null || cap === undefined ? cap : cap * 1000
}

export function gigabytesToInput(bytes: number | null): string {
  return bytes === null ? '' : String(Math.round((bytes / (1000 * MB)) * 100) / 100)
}
