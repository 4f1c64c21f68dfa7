// Release-format figures: chunking and hashing against openssl, publish against cp + sync,
// and the chunk-size sweep that chose the defaults.
import { createPrivateKey } from 'node:crypto'
import { rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { formatBytes } from '../../shared/units.ts'
import { seededBytes, sampleLayout, writeSampleBuild, writeUpdatedBuild } from '../../app/demo/sample-build.ts'
import { DEFAULT_CHUNKING } from '../../app/release/chunk-defaults.ts'
import { publish, type PublishOptions } from '../../app/release/publish.ts'
import { ReleaseWorkers } from '../../app/release/release-workers.ts'
import { generateKeyPair } from '../../app/release/signing.ts'
import { mbps, run, timeIt } from './measure.ts'

export interface ReleaseBenchOptions {
  readonly work: string
  readonly size: number
  readonly sweepSize: number
  readonly repeat: number
}

const key = createPrivateKey(generateKeyPair().privatePem)

function publishOptions(buildDir: string, cdnRoot: string, version: string, avg?: number): PublishOptions {
  return { buildDir, product: 'bench', version, channel: 'stable', privateKey: key, cdnRoot, trackers: [], mirrors: [], pieceLength: undefined, chunking: { avg }, expiresInMs: 86_400_000, allowDowngrade: false, now: () => new Date() }
}

const openssl = (files: string[]) => run('openssl', ['dgst', '-sha256', ...files], { maxBuffer: 1 << 24 })

/** Chunk + chunk SHA-256 (what indexing an install costs) and the publish pass (+ file SHA-256), against openssl. */
async function chunkHashVsOpenssl(o: ReleaseBenchOptions, results: Record<string, unknown>, label: string, files: string[]): Promise<void> {
  const workers = new ReleaseWorkers()
  try {
    const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size))
    await openssl(files) // warm the page cache so every side reads from memory
    const ref = await timeIt(o.repeat, () => openssl(files))
    for (const hashFile of [false, true]) {
      const ours = await timeIt(o.repeat, () => Promise.all(files.map((f, i) => workers.chunkFile(f, sizes[i]!, DEFAULT_CHUNKING, hashFile))))
      const row = { shoalMBps: mbps(o.size, ours.median), opensslMBps: mbps(o.size, ref.median), ratio: ref.median / ours.median }
      const what = hashFile ? 'chunk+hash+file hash' : 'chunk+hash'
      results[`${what}, ${label}`] = row
      console.log(`${what.padEnd(21)}${label.padEnd(10)} shoal ${row.shoalMBps.toFixed(0).padStart(5)} MB/s   openssl dgst -sha256 ${row.opensslMBps.toFixed(0).padStart(5)} MB/s   speed vs openssl ${row.ratio.toFixed(2)}x`)
    }
  } finally {
    await workers.close()
  }
}

export async function releaseBench(o: ReleaseBenchOptions, results: Record<string, unknown>): Promise<void> {
  const single = join(o.work, 'single.bin')
  await writeFile(single, seededBytes('bench-single', o.size))
  await chunkHashVsOpenssl(o, results, '1 file', [single])
  await rm(single)
  const build = join(o.work, 'build')
  await writeSampleBuild(build, o.size, 'bench')
  const buildFiles = sampleLayout(o.size).map((f) => join(build, f.path))
  await chunkHashVsOpenssl(o, results, `${buildFiles.length} files`, buildFiles)

  // Publish writes (and fsyncs) a store as large as the release: compare with copying the build durably.
  const copy = await timeIt(1, async () => {
    await run('cp', ['-r', build, join(o.work, 'copy')])
    await run('sync')
  })
  await rm(join(o.work, 'copy'), { recursive: true })
  await run('sync')
  const cdn = join(o.work, 'cdn')
  let pub: Awaited<ReturnType<typeof publish>> | undefined
  const timed = await timeIt(1, async () => (pub = await publish(publishOptions(build, cdn, '1.0.0'))))
  const gib = o.size / 2 ** 30
  results['publish'] = { seconds: timed.median, cpSyncSeconds: copy.median, ratio: timed.median / copy.median, manifestBytes: pub!.manifestBytes, indexBytes: pub!.indexBytes, manifestBytesPerGiB: (pub!.manifestBytes + pub!.indexBytes) / gib, storeBytes: pub!.storeBytes, chunks: pub!.newChunks }
  console.log(`\npublish ${formatBytes(o.size)}: ${timed.median.toFixed(2)} s; cp -r + sync of the same build ${copy.median.toFixed(2)} s (publish takes ${(timed.median / copy.median).toFixed(2)}x)`)
  console.log(`manifest at default chunk sizes: ${formatBytes(pub!.manifestBytes)} top + ${formatBytes(pub!.indexBytes)} index for ${pub!.newChunks} chunks = ${formatBytes((pub!.manifestBytes + pub!.indexBytes) / gib)} per GiB`)
  await rm(cdn, { recursive: true })
  await rm(build, { recursive: true })

  console.log(`\nchunk-size sweep on a ${formatBytes(o.sweepSize)} build and its point release:`)
  console.log('  min/avg/max                 v2 new bytes  x changed  v2 wire (new+manifest)  manifest/GiB  publish MB/s')
  const v1 = join(o.work, 'sweep-v1')
  const v2 = join(o.work, 'sweep-v2')
  await writeSampleBuild(v1, o.sweepSize, 'sweep')
  const changes = await writeUpdatedBuild(v1, v2, 'sweep-v2')
  const sweep = []
  for (const avg of [4096, 8192, 16384, 32768, 65536, 131072]) {
    const root = join(o.work, `sweep-cdn-${avg}`)
    const t = performance.now()
    const first = await publish(publishOptions(v1, root, '1.0.0', avg))
    const seconds = (performance.now() - t) / 1000
    const second = await publish(publishOptions(v2, root, '1.1.0', avg))
    const row = { avg, newBytes: second.newBytes, storeBytes: second.storeBytes, overChanged: second.newBytes / changes.changedBytes, wireBytes: second.storeBytes + second.manifestBytes + second.indexBytes, manifestPerGiB: ((first.manifestBytes + first.indexBytes) * 2 ** 30) / o.sweepSize, publishMBps: mbps(o.sweepSize, seconds) }
    sweep.push(row)
    const sizes = `${formatBytes(avg / 4)}/${formatBytes(avg)}/${formatBytes(avg * 4)}`
    console.log(`  ${sizes.padEnd(28)}${formatBytes(row.newBytes).padEnd(14)}${row.overChanged.toFixed(1).padStart(9)}  ${formatBytes(row.wireBytes).padEnd(24)}${formatBytes(row.manifestPerGiB).padEnd(14)}${row.publishMBps.toFixed(0).padStart(12)}`)
    await rm(root, { recursive: true })
  }
  await rm(v1, { recursive: true })
  await rm(v2, { recursive: true })
  results['sweep'] = { changedBytes: changes.changedBytes, editedFiles: changes.editedFiles, rows: sweep }
  console.log(`  (v2 changed ${formatBytes(changes.changedBytes)} in ${changes.editedFiles} files)`)
}
