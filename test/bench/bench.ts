// `npm run bench`: release-format figures, each against a reference tool run side by side
// on the same files in the same run. Results print as a table and go to .bench/results.json.
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPrivateKey } from 'node:crypto'
import { Command } from 'commander'
import { parseBytes, formatBytes } from '../../shared/units.ts'
import { ReleaseWorkers } from '../../app/release/release-workers.ts'
import { publish } from '../../app/release/publish.ts'
import { generateKeyPair } from '../../app/release/signing.ts'
import { seededBytes, writeSampleBuild, writeUpdatedBuild, sampleLayout } from '../../app/demo/sample-build.ts'
import { DEFAULT_CHUNKING } from '../../app/release/chunk-defaults.ts'
import type { ChunkParams } from '../../app/release/fastcdc.ts'
import { mbps, run, timeIt } from './measure.ts'

const opts = new Command('bench')
  .option('--size <bytes>', 'release size for throughput figures', (v) => parseBytes(v) ?? 2 ** 30, 2 ** 30)
  .option('--sweep-size <bytes>', 'release size for the chunk-size sweep', (v) => parseBytes(v) ?? 256 * 2 ** 20, 256 * 2 ** 20)
  .option('--repeat <n>', 'repetitions per timing (median kept)', (v) => Number(v), 3)
  .parse()
  .opts<{ size: number; sweepSize: number; repeat: number }>()

const work = await mkdtemp(join(tmpdir(), 'shoal-bench-'))
const results: Record<string, unknown> = { node: process.version, date: new Date().toISOString() }
const key = createPrivateKey(generateKeyPair().privatePem)

function publishOptions(buildDir: string, cdnRoot: string, version: string, chunking: ChunkParams) {
  return { buildDir, product: 'bench', version, channel: 'stable', privateKey: key, cdnRoot, trackers: [], mirrors: [], pieceLength: undefined, chunking, expiresInMs: 86_400_000, allowDowngrade: false, now: () => new Date() }
}

async function chunkHashVsOpenssl(label: string, files: string[], bytes: number): Promise<void> {
  const pool = new ReleaseWorkers()
  try {
    // Warm the page cache so both sides read from memory.
    await run('openssl', ['dgst', '-sha256', ...files], { maxBuffer: 1 << 24 })
    const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size))
    const ours = await timeIt(opts.repeat, () => Promise.all(files.map((f, i) => pool.chunkFile(f, sizes[i]!, DEFAULT_CHUNKING, false))))
    const openssl = await timeIt(opts.repeat, () => run('openssl', ['dgst', '-sha256', ...files], { maxBuffer: 1 << 24 }))
    const row = { shoalMBps: mbps(bytes, ours.median), opensslMBps: mbps(bytes, openssl.median), ratio: openssl.median / ours.median }
    results[`chunkHash.${label}`] = row
    console.log(`chunk+hash ${label.padEnd(14)} shoal ${row.shoalMBps.toFixed(0)} MB/s   openssl dgst -sha256 ${row.opensslMBps.toFixed(0)} MB/s   shoal/openssl ${row.ratio.toFixed(2)}x`)
  } finally {
    await pool.close()
  }
}

try {
  console.log(`Shoal bench: Node ${process.version}, ${formatBytes(opts.size)} release, median of ${opts.repeat}\n`)

  // 1. Chunking + hashing against openssl on the same bytes.
  const single = join(work, 'single.bin')
  await writeFile(single, seededBytes('bench-single', opts.size))
  await chunkHashVsOpenssl('one file', [single], opts.size)
  await rm(single)
  const build = join(work, 'build')
  await writeSampleBuild(build, opts.size, 'bench')
  const buildFiles = sampleLayout(opts.size).map((f) => join(build, f.path))
  await chunkHashVsOpenssl(`${buildFiles.length} files`, buildFiles, opts.size)

  // 2. Publish time and manifest size at the default chunk sizes.
  const cdn = join(work, 'cdn')
  const t = performance.now()
  const pub = await publish(publishOptions(build, cdn, '1.0.0', DEFAULT_CHUNKING))
  const publishSeconds = (performance.now() - t) / 1000
  const gib = opts.size / 2 ** 30
  results['publish'] = { seconds: publishSeconds, MBps: mbps(opts.size, publishSeconds), manifestBytes: pub.manifestBytes, manifestBytesPerGiB: pub.manifestBytes / gib, storeBytes: pub.storeBytes, chunks: pub.newChunks }
  console.log(`\npublish ${formatBytes(opts.size)}: ${publishSeconds.toFixed(2)} s (${mbps(opts.size, publishSeconds).toFixed(0)} MB/s); manifest ${formatBytes(pub.manifestBytes)} = ${formatBytes(pub.manifestBytes / gib)} per GiB (${pub.newChunks} chunks)`)
  await rm(cdn, { recursive: true })
  await rm(build, { recursive: true })

  // 3. Chunk-size sweep: update cost of a point release against manifest size.
  console.log(`\nchunk-size sweep on a ${formatBytes(opts.sweepSize)} build and its point release:`)
  console.log('  min/avg/max           v2 new bytes   x changed   manifest/GiB   chunk MB/s')
  const v1 = join(work, 'sweep-v1')
  const v2 = join(work, 'sweep-v2')
  await writeSampleBuild(v1, opts.sweepSize, 'sweep')
  const changes = await writeUpdatedBuild(v1, v2, 'sweep-v2')
  const sweep = []
  for (const avg of [4096, 8192, 16384, 32768, 65536, 131072]) {
    const chunking = { min: avg / 4, avg, max: avg * 4 }
    const root = join(work, `sweep-cdn-${avg}`)
    const t1 = performance.now()
    const first = await publish(publishOptions(v1, root, '1.0.0', chunking))
    const seconds = (performance.now() - t1) / 1000
    const second = await publish(publishOptions(v2, root, '1.1.0', chunking))
    const row = { avg, newBytes: second.newBytes, storeBytes: second.storeBytes, overChanged: second.newBytes / changes.changedBytes, manifestPerGiB: (first.manifestBytes * 2 ** 30) / opts.sweepSize, publishMBps: mbps(opts.sweepSize, seconds) }
    sweep.push(row)
    console.log(`  ${`${formatBytes(avg / 4)}/${formatBytes(avg)}/${formatBytes(avg * 4)}`.padEnd(22)}${formatBytes(row.newBytes).padEnd(15)}${row.overChanged.toFixed(1).padStart(9)}   ${formatBytes(row.manifestPerGiB).padEnd(13)}  ${row.publishMBps.toFixed(0)}`)
    await rm(root, { recursive: true })
  }
  results['sweep'] = { changedBytes: changes.changedBytes, rows: sweep }
  console.log(`  (v2 changed ${formatBytes(changes.changedBytes)} in ${changes.editedFiles} files)`)

  await mkdir('.bench', { recursive: true })
  await writeFile('.bench/results.json', JSON.stringify(results, null, 2) + '\n')
  console.log('\nresults: .bench/results.json')
} finally {
  await rm(work, { recursive: true, force: true })
}
