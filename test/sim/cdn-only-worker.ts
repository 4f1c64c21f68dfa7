// A scenario's CDN-only baseline, run in a worker thread so that it takes the machine's other
// core while the Shoal run takes one (simulate.ts): the launch day's two runs one after the
// other took 10 minutes.
import { parentPort, workerData } from 'node:worker_threads'
import type { Scenario } from './scenario.ts'
import { simulate } from './simulator.ts'

const started = performance.now()
const result = simulate({ ...(workerData as Scenario), mode: { kind: 'cdn-only' } })
parentPort!.postMessage({ result, seconds: (performance.now() - started) / 1000 })
