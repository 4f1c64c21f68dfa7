import type { ReleaseScope } from '../../../shared/release-schema.ts'
import { formatBytes } from '../../../shared/units.ts'
import { publish } from '../../release/publish.ts'
import type { ChunkFlags } from '../../release/chunk-defaults.ts'
import { loadEitherKey, loadPrivateKey } from '../key-files.ts'
import type { Output } from '../output.ts'

export interface PublishFlags {
  readonly product: string
  readonly version: string
  readonly channel: string
  readonly key: string
  readonly out: string
  readonly tracker: string[]
  readonly mirror: string[]
  readonly scope: ReleaseScope
  readonly admissionKey: string | undefined
  readonly pieceSize: number | undefined
  readonly chunking: ChunkFlags
  readonly patchFromVersions: number
  readonly expiresIn: number
  readonly allowDowngrade: boolean
}

export async function publishCommand(out: Output, buildDir: string, flags: PublishFlags): Promise<void> {
  const started = performance.now()
  const bars = { chunk: out.progress('chunk'), pack: out.progress('pack'), patch: out.progress('patch') }
  const result = await publish({
    buildDir,
    product: flags.product,
    version: flags.version,
    channel: flags.channel,
    privateKey: await loadPrivateKey(flags.key),
    cdnRoot: flags.out,
    trackers: flags.tracker,
    mirrors: flags.mirror,
    scope: flags.scope,
    ...(flags.admissionKey ? { admissionKey: await loadEitherKey(flags.admissionKey, '--admission-key') } : {}),
    pieceLength: flags.pieceSize,
    chunking: flags.chunking,
    patchFromVersions: flags.patchFromVersions,
    expiresInMs: flags.expiresIn,
    allowDowngrade: flags.allowDowngrade,
    now: () => new Date(),
    onProgress: (p) => bars[p.phase].update(p.done, p.total),
  }).finally(() => Object.values(bars).forEach((b) => b.stop()))
  const { manifest: m, pointer } = result
  const seconds = (performance.now() - started) / 1000
  out.result(
    {
      product: m.product,
      version: m.version,
      channel: pointer.channel,
      scope: m.scope,
      sequence: pointer.sequence,
      files: m.totals.files,
      bytes: m.totals.bytes,
      newChunks: result.newChunks,
      newBytes: result.newBytes,
      storeBytes: result.storeBytes,
      patches: result.patches,
      patchBytes: result.patchBytes,
      manifestBytes: result.manifestBytes,
      manifestDeltas: result.manifestDeltas,
      indexBytes: result.indexBytes,
      packLength: m.pack.length,
      infoHash: m.pack.infoHash,
      pointer: result.pointerPath,
      seconds,
    },
    () =>
      [
        `published ${m.product} ${m.version} on channel ${pointer.channel} (sequence ${pointer.sequence}, scope ${m.scope}) in ${seconds.toFixed(1)} s`,
        `  ${m.totals.files} files, ${formatBytes(m.totals.bytes)}; ${result.newChunks} new chunks, ${formatBytes(result.newBytes)} new (${formatBytes(result.storeBytes)} stored)`,
        ...(result.patches > 0 ? [`  ${result.patches} patches from earlier versions, ${formatBytes(result.patchBytes)}`] : []),
        `  manifest ${formatBytes(result.manifestBytes)} (+ ${formatBytes(result.indexBytes)} index), pack ${formatBytes(m.pack.length)}, infohash ${m.pack.infoHash}`,
        ...(result.manifestDeltas.length > 0 ? [`  manifest deltas: ${result.manifestDeltas.map((d) => `from ${d.from} ${formatBytes(d.bytes)}`).join(', ')}`] : []),
        `  pointer: ${result.pointerPath}`,
      ].join('\n'),
  )
}
