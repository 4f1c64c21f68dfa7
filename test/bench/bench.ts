// `npm run bench`: every figure side by side with a reference tool, in one run, on loopback.
// Results print as tables and go to .bench/results.json.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command, Option } from 'commander'
import { formatBytes, parseBytes } from '../../shared/units.ts'
import { cdnBench } from './cdn-bench.ts'
import { releaseBench } from './release-bench.ts'
import { swarmBench } from './swarm-bench.ts'
import { hybridBench } from './hybrid-bench.ts'
import { trackerBench } from './tracker-bench.ts'

const size = (fallback: number) => (v: string) => parseBytes(v) ?? fallback
const opts = new Command('bench')
  .option('--size <bytes>', 'release size for throughput figures', size(2 ** 30), 2 ** 30)
  .option('--sweep-size <bytes>', 'release size for the chunk-size sweep', size(256 * 2 ** 20), 256 * 2 ** 20)
  .option('--resume-size <bytes>', 'release size for the resume figure', size(4 * 2 ** 30), 4 * 2 ** 30)
  .option('--repeat <n>', 'repetitions per timing (median kept)', (v) => Number(v), 5)
  .option('--swarm-size <bytes>', 'release size for the swarm figures', size(256 * 2 ** 20), 256 * 2 ** 20)
  .option('--leechers <n>', 'leechers in the swarm figures', (v) => Number(v), 8)
  .option('--swarm-cases <list>', 'swarm cases to run, e.g. a,c', (v) => v.split(','), ['a', 'b', 'c'])
  .option('--hybrid-size <bytes>', 'release size for the hybrid figures', size(2 ** 30), 2 ** 30)
  .option('--hybrid-cases <list>', 'hybrid cases to run, e.g. 1,2 (4: the peer transport, TLS against plaintext and MSE)', (v) => v.split(','), ['1', '2', '3', '4'])
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

const work = await mkdtemp(join(tmpdir(), 'shoal-bench-'))
const results: Record<string, unknown> = { node: process.version, date: new Date().toISOString(), size: opts.size }
try {
  console.log(`Shoal bench: Node ${process.version}, ${formatBytes(opts.size)}, median of ${opts.repeat}\n`)
  if (opts.only === undefined || opts.only === 'release') await releaseBench({ work, size: opts.size, sweepSize: opts.sweepSize, repeat: opts.repeat }, results)
  if (opts.only === undefined || opts.only === 'cdn') {
    const npmPairs = [['typescript@5.8.2', 'typescript@5.8.3'], ['prettier@3.5.2', 'prettier@3.5.3']] as const
    await cdnBench({ work, size: opts.size, resumeSize: opts.resumeSize, repeat: opts.repeat, npmPairs }, results)
  }
  if (opts.only === undefined || opts.only === 'swarm') await swarmBench({ work, size: opts.swarmSize, leechers: opts.leechers, cases: opts.swarmCases }, results)
  if (opts.only === undefined || opts.only === 'hybrid') await hybridBench({ work, size: opts.hybridSize, repeat: opts.repeat, leechers: opts.leechers, cases: opts.hybridCases }, results)
  if (opts.only === undefined || opts.only === 'tracker') await trackerBench({ work, peers: opts.trackerPeers, swarms: opts.trackerSwarms, connections: opts.trackerConnections }, results)
  await mkdir('.bench', { recursive: true })
  await writeFile('.bench/results.json', JSON.stringify(results, null, 2) + '\n')
  console.log('\nresults: .bench/results.json')
} finally {
  await rm(work, { recursive: true, force: true })
}
