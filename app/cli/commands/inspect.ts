import { formatBytes } from '../../../shared/units.ts'
import { resolveRelease } from '../../release/resolve.ts'
import { locationToUrl } from '../../release/resource-fetch.ts'
import { loadPublicKey } from '../key-files.ts'
import type { Output } from '../output.ts'

export async function inspectCommand(out: Output, location: string, pubkeyPath: string): Promise<void> {
  const { pointer, manifest: m, topBytes, objectBytes, fetchedObjects } = await resolveRelease(locationToUrl(location), await loadPublicKey(pubkeyPath), new Date())
  const pieces = Math.ceil(m.pack.length / m.pack.pieceLength)
  out.result(
    {
      product: m.product,
      version: m.version,
      channel: pointer.channel,
      sequence: pointer.sequence,
      expiresAt: pointer.expiresAt,
      files: m.totals.files,
      bytes: m.totals.bytes,
      chunks: m.totals.chunkRefs,
      uniqueChunks: m.totals.uniqueChunks,
      uniqueBytes: m.totals.uniqueBytes,
      packLength: m.pack.length,
      pieceLength: m.pack.pieceLength,
      pieces,
      infoHash: m.pack.infoHash,
      manifestBytes: topBytes,
      objectBytes,
      fetchedObjects,
      sections: m.pack.sections.length,
      patches: (m.patches ?? []).map((p) => ({ path: m.files[p.file]!.path, fromVersion: p.fromVersion, size: p.size })),
    },
    () =>
      [
        `${m.product} ${m.version}  (channel ${pointer.channel}, sequence ${pointer.sequence}, expires ${pointer.expiresAt})`,
        `  signature ok, manifest hash ok`,
        `  files         ${m.totals.files}`,
        `  bytes         ${formatBytes(m.totals.bytes)} (${m.totals.bytes})`,
        `  chunks        ${m.totals.chunkRefs} (${m.totals.uniqueChunks} unique, ${formatBytes(m.totals.uniqueBytes)})`,
        `  pack          ${formatBytes(m.pack.length)} in ${m.pack.sections.length} section(s)`,
        `  pieces        ${pieces} x ${formatBytes(m.pack.pieceLength)}`,
        `  infohash      ${m.pack.infoHash}`,
        `  manifest      ${formatBytes(topBytes)}${fetchedObjects > 0 ? ` + ${formatBytes(objectBytes)} in ${fetchedObjects} object(s) from the index` : ''}`,
        ...(m.patches ?? []).map((p) => `  patch         ${m.files[p.file]!.path} from ${p.fromVersion}: ${formatBytes(p.size)}`),
      ].join('\n'),
  )
}
