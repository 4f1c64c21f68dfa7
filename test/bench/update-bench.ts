// Update bytes on the wire between two real npm releases (issue 17), every side counted by the
// same nginx in one run: Shoal with per-file patches (the default), Shoal without them
// (`--patch-from-versions 0`, Shoal before issue 17), zsync, `zstd --patch-from` and bsdiff.
// zsync, zstd and bsdiff each work on one file, so they get each release as one uncompressed tar.
// Also: publish time and peak RSS with and without patches, and the client's CPU to apply them.
import { cp, mkdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { formatBytes } from '../../shared/units.ts'
import { launcherEnv, SHOAL_LAUNCHER } from '../../app/cli/launcher.ts'
import { generateKeyPair } from '../../app/release/signing.ts'
import { startNginx, type Nginx } from '../support/nginx.ts'
import { measured, run, type Measured } from './measure.ts'
import { freshGet, getInto, type GetEvent } from './shoal-get.ts'

export interface UpdatePair {
  /** What `--update-pairs` calls it. */
  readonly name: string
  /** native: the package is one large executable or `.node` file; text: JavaScript and typings. */
  readonly kind: 'native' | 'text'
  /** npm specs, e.g. typescript@5.8.2. */
  readonly from: string
  readonly to: string
}

/** The pairs whose name or kind is in `wanted`; an entry that matches none is a mistake, not a no-op. */
export function pickPairs(all: readonly UpdatePair[], wanted: readonly string[]): UpdatePair[] {
  const unknown = wanted.filter((w) => !all.some((p) => p.name === w || p.kind === w))
  if (unknown.length > 0) throw new Error(`unknown update pair ${unknown.join(', ')}: pick from ${all.map((p) => p.name).join(', ')}, native, text`)
  return all.filter((p) => wanted.includes(p.name) || wanted.includes(p.kind))
}

/** The client's patch tally in its `done` line (issue 17); absent before the client side lands. */
export interface PatchTally {
  readonly applied: number
  readonly bytes: number
  readonly fellBack: readonly { readonly path: string; readonly code: string; readonly reason: string }[]
  readonly applyCpuSeconds: number
}

function patchTally(done: GetEvent): PatchTally | null {
  const p = done['patches']
  if (typeof p !== 'object' || p === null) return null
  const t = p as Record<string, unknown>
  const ok = typeof t['applied'] === 'number' && typeof t['bytes'] === 'number' && Array.isArray(t['fellBack']) && typeof t['applyCpuSeconds'] === 'number'
  return ok ? (p as PatchTally) : null
}

/** One way Shoal publishes: the default (patches) or Shoal before issue 17, each its own product on the CDN. */
interface Variant {
  readonly label: 'shoal' | 'before'
  readonly product: string
  readonly publishFlags: readonly string[]
}

interface ShoalSide {
  readonly bytes: number
  readonly publishSeconds: number
  readonly publishPeakRssBytes: number
  /** null (not left out) in results.json when the client reports none: read as "n/a". */
  readonly patches: PatchTally | null
}

interface Reference {
  readonly bytes: number
  readonly seconds: number
  readonly peakRssBytes: number
}

export interface UpdateRow {
  readonly name: string
  readonly kind: UpdatePair['kind']
  readonly from: string
  readonly to: string
  /** The new release as an uncompressed tar: what zsync, zstd and bsdiff work on. */
  readonly releaseBytes: number
  readonly shoal: ShoalSide
  readonly before: ShoalSide
  readonly zsyncBytes: number
  readonly patchFrom: Reference
  readonly bsdiff: Reference
  readonly ratios: { readonly shoalOverPatchFrom: number; readonly shoalOverBsdiff: number; readonly shoalOverZsync: number; readonly beforeOverShoal: number }
}

/**
 * Whether `shoal publish` takes `--patch-from-versions` (issue 17's publisher side), from its
 * help: until it does, "before" is published with the same flags as "shoal", and the two match.
 */
export async function publishTakesPatchFlag(): Promise<boolean> {
  const help = await run(SHOAL_LAUNCHER, ['publish', '--help'], { env: launcherEnv() }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }))
  return help.stdout.includes('--patch-from-versions')
}

function variants(patchFlag: boolean): Variant[] {
  return [
    { label: 'shoal', product: 'bench', publishFlags: [] },
    { label: 'before', product: 'bench-before', publishFlags: patchFlag ? ['--patch-from-versions', '0'] : [] },
  ]
}

/** `npm pack` of `spec`, unpacked into a folder of its own under `work`. */
async function npmRelease(spec: string, work: string): Promise<string> {
  const { stdout } = await run('npm', ['pack', spec, '--silent', '--pack-destination', work], { cwd: work })
  const dir = join(work, spec.replace(/[@/]/g, '_'))
  await mkdir(dir, { recursive: true })
  await run('tar', ['-xzf', join(work, stdout.trim().split('\n').at(-1)!), '-C', dir])
  return dir
}

/** The release as one uncompressed tar, byte-identical for identical folders (sorted, no dates). */
const tarOf = (dir: string, tar: string) => run('tar', ['--sort=name', '--mtime=@0', '-cf', tar, '-C', dir, '.'])

interface Keys {
  readonly keyPath: string
  readonly pubPath: string
}

async function publisherKeys(work: string): Promise<Keys> {
  const pair = generateKeyPair()
  const keys = { keyPath: join(work, 'publisher.key'), pubPath: join(work, 'publisher.pub') }
  await writeFile(keys.pubPath, pair.publicPem)
  await writeFile(keys.keyPath, pair.privatePem, { mode: 0o600 })
  return keys
}

/**
 * `shoal publish` through bin/shoal, as a publisher runs it: the `publisher()` helper publishes
 * in the bench's own process, whose memory would hide the publish's, and takes no CLI flags.
 */
function cliPublish(keys: Keys, build: string, cdn: string, v: Variant, version: string): Promise<Measured> {
  const argv = [SHOAL_LAUNCHER, '--json', 'publish', build, '--product', v.product, '--version', version, '--channel', 'stable', '--key', keys.keyPath, '--out', cdn, '--scope', 'private', ...v.publishFlags]
  return measured(argv, { env: launcherEnv() })
}

/** Bytes nginx sent while `fn` ran: bodies and headers, from its access log. */
async function wireBytes(nginx: Nginx, fn: () => Promise<unknown>): Promise<number> {
  const before = await nginx.bytesSent()
  await fn()
  return (await nginx.bytesSent()) - before
}

/** A one-file reference patch made under GNU time; its bytes are counted later, as nginx serves it. */
async function makePatch(argv: readonly string[], out: string): Promise<Omit<Reference, 'bytes'>> {
  const m = await measured(argv)
  await stat(out)
  return { seconds: m.seconds, peakRssBytes: m.peakRssBytes }
}

/** zsync's control file, `zstd --patch-from` and bsdiff patches of 1.tar -> 2.tar, all in `ref` (served by nginx). */
async function makeReferences(ref: string): Promise<{ patchFrom: Omit<Reference, 'bytes'>; bsdiff: Omit<Reference, 'bytes'> }> {
  const [oldTar, newTar] = [join(ref, '1.tar'), join(ref, '2.tar')]
  await run('zsyncmake', ['-o', join(ref, '2.tar.zsync'), '-u', '2.tar', newTar])
  // --long=31: the largest window, so matches reach anywhere in the old file, as Shoal's patches' long-distance matching does.
  const patchFrom = await makePatch(['zstd', '-q', '-f', '-19', '--long=31', `--patch-from=${oldTar}`, newTar, '-o', join(ref, '2.tar.zst')], join(ref, '2.tar.zst'))
  // Whole tars: bsdiff peaked at 384 MiB on the largest pair (swc, 43 MiB), far from the 2 GiB at which it would go per file.
  const bsdiff = await makePatch(['bsdiff', oldTar, newTar, join(ref, '2.bsdiff')], join(ref, '2.bsdiff'))
  return { patchFrom, bsdiff }
}

/** Shoal's side: v1 installed, v2 published (timed), then the update's bytes and its `done` line. */
async function shoalSides(nginx: Nginx, keys: Keys, work: string, dirs: readonly [string, string], cdn: string, vs: readonly Variant[]): Promise<Map<Variant['label'], ShoalSide>> {
  for (const v of vs) await freshGet(nginx, keys.pubPath, work, v.product, { product: v.product })
  const published = new Map<Variant['label'], Measured>()
  for (const v of vs) published.set(v.label, await cliPublish(keys, dirs[1], cdn, v, '1.1.0'))
  const sides = new Map<Variant['label'], ShoalSide>()
  for (const v of vs) {
    let done: GetEvent = {}
    const bytes = await wireBytes(nginx, async () => (done = await getInto(nginx, keys.pubPath, work, v.product, { product: v.product })))
    const p = published.get(v.label)!
    sides.set(v.label, { bytes, publishSeconds: p.seconds, publishPeakRssBytes: p.peakRssBytes, patches: patchTally(done) })
  }
  return sides
}

async function benchPair(pair: UpdatePair, root: string, patchFlag: boolean): Promise<UpdateRow> {
  const work = join(root, `update-${pair.name}`)
  const cdn = join(work, 'cdn')
  const ref = join(cdn, 'ref')
  await mkdir(ref, { recursive: true })
  try {
    const dirs = [await npmRelease(pair.from, work), await npmRelease(pair.to, work)] as const
    await tarOf(dirs[0], join(ref, '1.tar'))
    await tarOf(dirs[1], join(ref, '2.tar'))
    const made = await makeReferences(ref)
    const keys = await publisherKeys(work)
    const vs = variants(patchFlag)
    for (const v of vs) await cliPublish(keys, dirs[0], cdn, v, '1.0.0')
    const nginx = await startNginx(cdn, join(work, 'nginx'))
    try {
      const sides = await shoalSides(nginx, keys, work, dirs, cdn, vs)
      await cp(join(ref, '1.tar'), join(work, 'seed.tar'))
      const zsyncBytes = await wireBytes(nginx, () => run('zsync', ['-q', '-i', join(work, 'seed.tar'), '-o', join(work, 'out.tar'), `${nginx.url}/ref/2.tar.zsync`], { cwd: work }))
      const fetch = (file: string) => wireBytes(nginx, () => run('curl', ['-sf', '-o', '/dev/null', `${nginx.url}/ref/${file}`]))
      const patchFrom = { bytes: await fetch('2.tar.zst'), ...made.patchFrom }
      const bsdiff = { bytes: await fetch('2.bsdiff'), ...made.bsdiff }
      const [shoal, before] = [sides.get('shoal')!, sides.get('before')!]
      const ratios = { shoalOverPatchFrom: shoal.bytes / patchFrom.bytes, shoalOverBsdiff: shoal.bytes / bsdiff.bytes, shoalOverZsync: shoal.bytes / zsyncBytes, beforeOverShoal: before.bytes / shoal.bytes }
      const releaseBytes = (await stat(join(ref, '2.tar'))).size
      return { name: pair.name, kind: pair.kind, from: pair.from, to: pair.to, releaseBytes, shoal, before, zsyncBytes, patchFrom, bsdiff, ratios }
    } finally {
      await nginx.stop()
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

const versionOf = (spec: string) => spec.slice(spec.lastIndexOf('@') + 1)
const label = (r: UpdateRow) => `${r.name} ${versionOf(r.from)} -> ${versionOf(r.to)}`
const b = (n: number) => formatBytes(n).padEnd(11)
const x = (n: number, width: number) => `${n.toFixed(2)}x`.padStart(width)
const secondsAndRss = (s: number, rss: number) => `${s.toFixed(1)} s, ${formatBytes(rss)}`.padEnd(20)

function printBytesHeader(): void {
  console.log(`  ${'pair'.padEnd(28)}${'tar'.padEnd(11)}${'shoal'.padEnd(11)}${'before'.padEnd(11)}${'zsync'.padEnd(11)}${'zstd-pf'.padEnd(11)}${'bsdiff'.padEnd(11)} shoal/zstd-pf shoal/bsdiff shoal/zsync before/shoal`)
}

function printBytesRow(r: UpdateRow): void {
  const q = r.ratios
  console.log(`  ${label(r).padEnd(28)}${b(r.releaseBytes)}${b(r.shoal.bytes)}${b(r.before.bytes)}${b(r.zsyncBytes)}${b(r.patchFrom.bytes)}${b(r.bsdiff.bytes)}${x(q.shoalOverPatchFrom, 14)}${x(q.shoalOverBsdiff, 13)}${x(q.shoalOverZsync, 12)}${x(q.beforeOverShoal, 13)}`)
}

function patchText(p: PatchTally | null): string {
  if (!p) return 'n/a (no patches in the done line)'.padEnd(40)
  const fell = p.fellBack.length > 0 ? `, ${p.fellBack.length} fell back (${p.fellBack.map((f) => `${f.path}: ${f.code}`).join('; ')})` : ''
  return `${p.applied} applied, ${formatBytes(p.bytes)}, CPU ${p.applyCpuSeconds.toFixed(2)} s${fell}`.padEnd(40)
}

/** Publish (v2: wall, peak RSS) with and without patches, the client's patch work, and what the references cost. */
function printCosts(rows: readonly UpdateRow[]): void {
  console.log(`\n  ${'pair'.padEnd(28)}${'publish, patches'.padEnd(20)}${'publish, before'.padEnd(20)}${'client: patches, apply CPU'.padEnd(40)}${'zstd-pf made in'.padEnd(20)}bsdiff made in`)
  for (const r of rows) {
    console.log(`  ${label(r).padEnd(28)}${secondsAndRss(r.shoal.publishSeconds, r.shoal.publishPeakRssBytes)}${secondsAndRss(r.before.publishSeconds, r.before.publishPeakRssBytes)}${patchText(r.shoal.patches)}${secondsAndRss(r.patchFrom.seconds, r.patchFrom.peakRssBytes)}${secondsAndRss(r.bsdiff.seconds, r.bsdiff.peakRssBytes).trim()}`)
  }
}

/** The issue's goals, each pair: no more than zstd --patch-from's bytes; text pairs no worse than before. */
function printGoals(rows: readonly UpdateRow[]): void {
  const mark = (ok: boolean) => (ok ? 'met' : 'MISSED')
  const patchFrom = rows.map((r) => `${r.name} ${mark(r.shoal.bytes <= r.patchFrom.bytes)}`).join(', ')
  const text = rows.filter((r) => r.kind === 'text').map((r) => `${r.name} ${mark(r.shoal.bytes <= r.before.bytes)}`)
  console.log(`\n  goal shoal <= zstd --patch-from: ${patchFrom}${text.length > 0 ? `; goal text pairs shoal <= before: ${text.join(', ')}` : ''}`)
}

export async function updateBench(o: { readonly work: string; readonly pairs: readonly UpdatePair[] }, results: Record<string, unknown>): Promise<void> {
  const patchFlag = await publishTakesPatchFlag()
  console.log('\nupdate bytes on the wire, from the nginx access log (shoal: manifest included; zsync: control file included; tar: the new release, what zsync, zstd and bsdiff work on):')
  console.log('  shoal = default flags (patches on); before = --patch-from-versions 0; zstd-pf = zstd -19 --long=31 --patch-from; bsdiff on whole tars')
  if (!patchFlag) console.log('  (shoal publish has no --patch-from-versions yet: "before" is published with the same flags as "shoal")')
  printBytesHeader()
  const rows: UpdateRow[] = []
  for (const pair of o.pairs) {
    const row = await benchPair(pair, o.work, patchFlag)
    rows.push(row)
    printBytesRow(row)
  }
  printCosts(rows)
  printGoals(rows)
  results['update'] = { patchFromVersionsFlag: patchFlag, rows }
}
