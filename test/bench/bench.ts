// `npm run bench`: every figure side by side with a reference tool, in one run, on loopback.
// Results print as tables and go to .bench/results.json.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command, Option } from 'commander'
import { formatBytes, parseBytes } from '../../shared/units.ts'
import { cdnBench } from './cdn-bench.ts'
import { pickPairs, type UpdatePair } from './update-bench.ts'
import { releaseBench } from './release-bench.ts'
import { swarmBench } from './swarm-bench.ts'
import { hybridBench } from './hybrid-bench.ts'
import { trackerBench } from './tracker-bench.ts'

const size = (fallback: number) => (v: string) => parseBytes(v) ?? fallback
const list = (v: string) => v.split(',')

// Consecutive releases from the npm registry. Native: one large executable or .node file each
// (a Go binary, a Rust executable, a Rust .node), where per-file patches (issue 17) should pay;
// text: the two pairs the update figures began with, which patches must not make worse.
const UPDATE_PAIRS: readonly UpdatePair[] = [
  { name: 'esbuild', kind: 'native', from: '@esbuild/linux-x64@0.25.4', to: '@esbuild/linux-x64@0.25.5' },
  { name: 'biome', kind: 'native', from: '@biomejs/cli-linux-x64@2.0.5', to: '@biomejs/cli-linux-x64@2.0.6' },
  { name: 'swc', kind: 'native', from: '@swc/core-linux-x64-gnu@1.12.0', to: '@swc/core-linux-x64-gnu@1.12.1' },
  { name: 'typescript', kind: 'text', from: 'typescript@5.8.2', to: 'typescript@5.8.3' },
  { name: 'prettier', kind: 'text', from: 'prettier@3.5.2', to: 'prettier@3.5.3' },
]
const opts = new Command('bench')
  .option('--size <bytes>', 'release size for throughput figures', size(2 ** 30), 2 ** 30)
  .option('--sweep-size <bytes>', 'release size for the chunk-size sweep', size(256 * 2 ** 20), 256 * 2 ** 20)
  .option('--resume-size <bytes>', 'release size for the resume figure', size(4 * 2 ** 30), 4 * 2 ** 30)
  .option('--repeat <n>', 'repetitions per timing (median kept)', (v) => Number(v), 5)
  .option('--swarm-size <bytes>', 'release size for the swarm figures', size(256 * 2 ** 20), 256 * 2 ** 20)
  .option('--leechers <n>', 'leechers in the swarm figures', (v) => Number(v), 8)
  .option('--cdn-cases <list>', 'cdn cases to run, e.g. update (install: against aria2c and curl; update: bytes against zsync, zstd --patch-from and bsdiff; resume)', list, ['install', 'update', 'resume'])
  .option('--update-pairs <list>', `npm release pairs for the update figures, by name or kind, e.g. native or swc,typescript (${UPDATE_PAIRS.map((p) => p.name).join(', ')}; native, text)`, list, ['native', 'text'])
  .option('--swarm-cases <list>', 'swarm cases to run, e.g. a,c', list, ['a', 'b', 'c'])
  .option('--hybrid-size <bytes>', 'release size for the hybrid figures', size(2 ** 30), 2 ** 30)
  .option('--hybrid-cases <list>', 'hybrid cases to run, e.g. 1,2 (4: the peer transport, TLS against plaintext and MSE; 5: 1 + 8 with the seeder upload capped)', list, ['1', '2', '3', '4', '5'])
  .option('--tracker-peers <n>', 'peers announcing in the tracker figures', (v) => Number(v), 100_000)
  .option('--tracker-swarms <n>', 'swarms they are spread over', (v) => Number(v), 1000)
  .option('--tracker-connections <n>', 'announces in flight at once', (v) => Number(v), 64)
  .addOption(new Option('--only <part>', 'run one part').choices(['release', 'cdn', 'swarm', 'hybrid', 'tracker']))
  .parse()
  .opts<{
    size: number
    sweepSize: number
    resumeSize: number
    repeat: number
    cdnCases: string[]
    updatePairs: string[]
    swarmSize: number
    leechers: number
    swarmCases: string[]
    hybridSize: number
    hybridCases: string[]
    trackerPeers: number
    trackerSwarms: number
    trackerConnections: number
    only?: 'release' | 'cdn' | 'swarm' | 'hybrid' | 'tracker'
  }>()

// Checked before any figure runs, so a misspelt pair fails at once rather than after the install figures.
const updatePairs = pickPairs(UPDATE_PAIRS, opts.updatePairs)
const cdnCases = ['install', 'update', 'resume']
if (opts.cdnCases.some((c) => !cdnCases.includes(c))) throw new Error(`--cdn-cases: pick from ${cdnCases.join(', ')}`)
const work = await mkdtemp(join(tmpdir(), 'shoal-bench-'))
const results: Record<string, unknown> = { node: process.version, date: new Date().toISOString(), size: opts.size }
try {
  console.log(`Shoal bench: Node ${process.version}, ${formatBytes(opts.size)}, median of ${opts.repeat}\n`)
  if (opts.only === undefined || opts.only === 'release') await releaseBench({ work, size: opts.size, sweepSize: opts.sweepSize, repeat: opts.repeat }, results)
  if (opts.only === undefined || opts.only === 'cdn') await cdnBench({ work, size: opts.size, resumeSize: opts.resumeSize, repeat: opts.repeat, cases: opts.cdnCases, updatePairs }, results)
  if (opts.only === undefined || opts.only === 'swarm') await swarmBench({ work, size: opts.swarmSize, leechers: opts.leechers, cases: opts.swarmCases }, results)
  if (opts.only === undefined || opts.only === 'hybrid') await hybridBench({ work, size: opts.hybridSize, repeat: opts.repeat, leechers: opts.leechers, cases: opts.hybridCases }, results)
  if (opts.only === undefined || opts.only === 'tracker') await trackerBench({ work, peers: opts.trackerPeers, swarms: opts.trackerSwarms, connections: opts.trackerConnections }, results)
  await mkdir('.bench', { recursive: true })
  await writeFile('.bench/results.json', JSON.stringify(results, null, 2) + '\n')
  console.log('\nresults: .bench/results.json')
} finally {
  await rm(work, { recursive: true, force: true })
}
