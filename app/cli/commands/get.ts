import { formatBytes } from '../../../shared/units.ts'
import { DEFAULT_CONNECTIONS, getRelease } from '../../engine/install/install-job.ts'
import type { SourceBytes } from '../../engine/stats/source-bytes.ts'
import { locationToUrl } from '../../release/resource-fetch.ts'
import { openStateDb } from '../../store/state-db.ts'
import { loadPublicKey } from '../key-files.ts'
import type { Output } from '../output.ts'

export interface GetFlags {
  readonly pubkey: string
  readonly dir: string
  readonly mirror: string[]
  readonly limitDown: number
  readonly connections: number
  readonly allowDowngrade: boolean
  readonly stallTimeout: number
}

export { DEFAULT_CONNECTIONS }

const perSource = (b: SourceBytes) => `cdn ${formatBytes(b.cdn)}, local ${formatBytes(b.local)}`

export async function getCommand(out: Output, dataDir: string, channel: string, flags: GetFlags): Promise<void> {
  const db = openStateDb(dataDir)
  const bar = out.progress('get')
  try {
    const result = await getRelease({
      pointerUrl: locationToUrl(channel),
      publicKey: await loadPublicKey(flags.pubkey),
      installDir: flags.dir,
      dataDir,
      db,
      mirrors: flags.mirror.map((m) => locationToUrl(m)),
      limitDown: flags.limitDown,
      connections: flags.connections,
      allowDowngrade: flags.allowDowngrade,
      stallMs: flags.stallTimeout,
      now: () => new Date(),
      onProgress: (p) => bar.update(p.done, p.total, { text: perSource(p.bytes), json: { bytes: { ...p.bytes } } }),
    })
    bar.stop()
    const { bytes } = result
    const fields = { product: result.product, version: result.version, from: result.fromVersion ?? null, upToDate: result.upToDate, resumed: result.resumed, bytes: { ...bytes }, totalBytes: result.totalBytes, seconds: result.seconds }
    if (out.json) out.event('done', fields)
    else if (result.upToDate) out.info(`${result.product} ${result.version} is already installed in ${flags.dir}`)
    else out.info(`${result.fromVersion ? `updated ${result.product} ${result.fromVersion} -> ${result.version}` : `installed ${result.product} ${result.version}`} in ${result.seconds.toFixed(1)} s: ${formatBytes(result.totalBytes)}; ${perSource(bytes)}${result.resumed ? ' (resumed)' : ''}`)
  } finally {
    bar.stop()
    db.close()
  }
}
