// `npm run simulate`: runs scenarios through the simulator, each beside a CDN-only run of the
// same clients, and prints the figures; --json prints them as JSON; each scenario's chart
// and figures are written to --out (default .sim/).
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'
import { timelineSvg } from './chart.ts'
import { describe, figures, type Figures } from './report.ts'
import type { Mode, Scenario } from './scenario.ts'
import { benchMeasured, scenarios } from './scenarios.ts'
import { simulate, type SimResult } from './simulator.ts'

const DEFAULT = ['bench-a', 'bench-b', 'bench-c', 'flash-crowd', 'enterprise', 'launch-day']

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: DEFAULT.join(',') },
    clients: { type: 'string' },
    'finish-slip': { type: 'string' },
    json: { type: 'boolean', default: false },
    out: { type: 'string', default: '.sim' },
  },
})

interface Validation {
  readonly cdnTimesRelease: { readonly simulated: number; readonly bench: number; readonly within10Pct: boolean }
  readonly seconds: { readonly simulated: number; readonly bench: number; readonly within25Pct: boolean }
}

/** Within 10 % of the bench's CDN bytes; a bench figure of 0 allows 10 % of the release. */
function validate(name: string, f: Figures): Validation | undefined {
  const m = benchMeasured[name]
  if (!m) return undefined
  const simSeconds = f.completionS.p99
  return {
    cdnTimesRelease: { simulated: f.cdnTimesRelease, bench: m.cdnTimesRelease, within10Pct: Math.abs(f.cdnTimesRelease - m.cdnTimesRelease) <= 0.1 * Math.max(m.cdnTimesRelease, 1) },
    seconds: { simulated: simSeconds, bench: m.seconds, within25Pct: Math.abs(simSeconds - m.seconds) <= 0.25 * m.seconds },
  }
}

/** `--finish-slip PERCENT|off`, as `shoal get` takes it: the finish bound every scenario runs with, or offload first. */
function slipMode(value: string): Mode {
  if (value === 'off') return { kind: 'offload' }
  const n = Number(value.replace(/%$/, ''))
  if (!Number.isFinite(n) || n < 0) throw new Error(`--finish-slip: expected a percentage such as 10 or 25%, or 'off'; got ${value}`)
  return { kind: 'finish', bound: { slip: n / 100 } }
}
const mode = values['finish-slip'] === undefined ? undefined : slipMode(values['finish-slip'])

/** The CDN-only run of `sc`, in a worker thread beside the caller's own work. */
function cdnOnlyRun(sc: Scenario): Promise<{ readonly result: SimResult; readonly seconds: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./cdn-only-worker.ts', import.meta.url), { workerData: sc })
    worker.once('message', resolve)
    worker.once('error', reject)
  })
}

await mkdir(values.out, { recursive: true })
const results: Record<string, unknown>[] = []
for (const name of values.scenario.split(',')) {
  const base = scenarios[name]
  if (!base) throw new Error(`no scenario ${name}; there are ${Object.keys(scenarios).join(', ')}`)
  const sc = { ...base, ...(values.clients ? { clients: Number(values.clients) } : {}), ...(mode ? { mode } : {}) }
  const baseline = cdnOnlyRun(sc)
  const started = performance.now()
  const run = simulate(sc)
  const runSeconds = (performance.now() - started) / 1000
  const { result: cdnOnly, seconds: cdnOnlySeconds } = await baseline
  const f = figures(sc.description, run, cdnOnly)
  const validation = validate(name, f)
  const peakRssMiB = process.resourceUsage().maxRSS / 1024
  const entry = { ...f, mode: sc.mode, runSeconds, cdnOnlySeconds, peakRssMiB, ...(validation ? { validation } : {}) }
  results.push(entry)
  await writeFile(join(values.out, `${name}.json`), JSON.stringify({ ...entry, timeline: run.timeline, cdnOnlyTimeline: cdnOnly.timeline }, null, 1))
  await writeFile(join(values.out, `${name}.svg`), await timelineSvg(`${name}: ${sc.description}`, run.timeline, cdnOnly.timeline))
  if (values.json) continue
  console.log(describe(f))
  console.log(`  simulated in ${runSeconds.toFixed(1)} s, its CDN-only run in ${cdnOnlySeconds.toFixed(1)} s beside it; peak RSS so far ${peakRssMiB.toFixed(0)} MiB; chart ${join(values.out, `${name}.svg`)}`)
  if (validation) {
    const v = validation
    console.log(`  against the bench: CDN ${v.cdnTimesRelease.simulated.toFixed(2)}x vs ${v.cdnTimesRelease.bench.toFixed(2)}x (within 10 %: ${v.cdnTimesRelease.within10Pct}); time ${v.seconds.simulated.toFixed(1)} s vs ${v.seconds.bench.toFixed(1)} (within 25 %: ${v.seconds.within25Pct})`)
  }
}
if (values.json) console.log(JSON.stringify(results, null, 1))
