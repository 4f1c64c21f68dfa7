// Issue 18, the install side: user files, the lock beside the install, a symlinked install
// folder, long paths, amplification and name collisions; real `shoal` processes against nginx.
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeUpdatedBuild } from '../../app/demo/sample-build.ts'
import type { Nginx } from '../support/nginx.ts'
import { clientFactory, serveReleasePair, type Client } from '../support/release-pair.ts'
import { startNginx } from '../support/nginx.ts'
import { makeFixture, type Fixture } from '../support/release-fixture.ts'
import type { Manifest } from '../../shared/release-schema.ts'
import { startCli } from '../support/long-running-cli.ts'
import { runCli } from '../support/run-cli.ts'
import { treeHash } from '../support/tree-hash.ts'

let dir: string
let f: Fixture
let nginx: Nginx
let v1Tree: Record<string, string>
let v2Tree: Record<string, string>
/** A folder beside the installs that no test may change. */
let outsideTree: Record<string, string>
const outsideUnchanged = async () => expect(await treeHash(join(dir, 'outside'))).toEqual(outsideTree)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-hardening-'))
  const fx = await makeFixture(dir, 4 * 1024 * 1024)
  f = fx
  await writeUpdatedBuild(fx.build, join(dir, 'build-v2'), 'hardening-v2')
  ;({ nginx, v1Tree, v2Tree } = await serveReleasePair(f, dir, fx.build, join(dir, 'build-v2')))
  await writeAll(join(dir, 'outside'), { 'keep.txt': 'untouched', 'saves/other.sav': 'not an install' })
  outsideTree = await treeHash(join(dir, 'outside'))
}, 120_000)

afterAll(async () => {
  await nginx?.stop()
  await rm(dir, { recursive: true, force: true })
})

const client = clientFactory(() => dir)
const pub = () => join(f.keyDir, 'publisher.pub')
const url = (name: string) => `${nginx.url}/game/channels/${name}.json`
const get = (c: Client, channel: string, extra: string[] = []) => runCli(['get', url(channel), '--pubkey', pub(), '--dir', c.install, '--json', ...extra], { SHOAL_DATA_DIR: c.data })
const shoal = (c: Client, extra: string[]) => runCli([...extra, '--json'], { SHOAL_DATA_DIR: c.data })

async function writeAll(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true })
    await writeFile(join(root, path), text)
  }
}

/** The tree hash a set of user files adds to a release tree (files are written 0644 by default umask 022). */
async function userTree(files: Record<string, string>): Promise<Record<string, string>> {
  const scratch = await mkdtemp(join(dir, 'user-'))
  await writeAll(scratch, files)
  const tree = await treeHash(scratch)
  await rm(scratch, { recursive: true, force: true })
  return tree
}

describe('user files in the install folder', () => {
  it('are carried into each new version untouched; a conflict is kept beside as NAME.user-1; nothing is lost', async () => {
    const c = client()
    expect((await get(c, 'stable')).code).toBe(0)
    const mine = { 'saves/slot1.sav': 'slot one', 'data/sounds/mine.ogg': 'my sound', 'data/sounds/sfx000.ogg/notes.txt': 'a folder where a release file was' }
    await rm(join(c.install, 'data/sounds/sfx000.ogg'))
    await writeAll(c.install, { ...mine, 'data/dlc/new-map.pak': 'my own map' })

    const up = await get(c, 'beta')
    expect(up.code, up.stderr).toBe(0)
    const expected = { ...v2Tree, ...(await userTree({ ...mine, 'data/dlc/new-map.pak.user-1': 'my own map' })) }
    expect(await treeHash(c.install)).toEqual(expected)
    expect(up.last['userFiles']).toEqual({ kept: Object.keys(mine).sort(), movedAside: [{ from: 'data/dlc/new-map.pak', to: 'data/dlc/new-map.pak.user-1' }], pruned: [] })

    // The update after that must not lose them either (the kept previous version is replaced
    // then); 1.0.0 has a file where the user's folder is now: the folder moves beside it.
    const down = await get(c, 'stable', ['--allow-downgrade'])
    expect(down.code, down.stderr).toBe(0)
    const { 'data/sounds/sfx000.ogg/notes.txt': notes, ...others } = { ...mine, 'data/dlc/new-map.pak.user-1': 'my own map' }
    expect(await treeHash(c.install)).toEqual({ ...v1Tree, ...(await userTree({ ...others, 'data/sounds/sfx000.ogg.user-1/notes.txt': notes })) })
    expect(down.last['userFiles']).toMatchObject({ movedAside: [{ from: 'data/sounds/sfx000.ogg/notes.txt', to: 'data/sounds/sfx000.ogg.user-1/notes.txt' }] })
    await outsideUnchanged()
  })

  it('a rollback carries them too, and the update after it loses none', async () => {
    const c = client()
    expect((await get(c, 'stable')).code).toBe(0)
    expect((await get(c, 'beta')).code).toBe(0)
    await writeAll(c.install, { 'saves/slot1.sav': 'slot one' })
    const save = await userTree({ 'saves/slot1.sav': 'slot one' })
    const back = await shoal(c, ['rollback', '--dir', c.install])
    expect(back.last).toMatchObject({ event: 'done', version: '1.0.0', userFiles: { kept: ['saves/slot1.sav'] } })
    expect(await treeHash(c.install)).toEqual({ ...v1Tree, ...save })
    expect((await shoal(c, ['rollback', '--dir', c.install])).last).toMatchObject({ version: '1.1.0' })
    expect(await treeHash(c.install)).toEqual({ ...v2Tree, ...save })
    // This update replaces the kept previous version, which held the save as well.
    expect((await get(c, 'stable', ['--allow-downgrade'])).code).toBe(0)
    expect(await treeHash(c.install)).toEqual({ ...v1Tree, ...save })
    await outsideUnchanged()
  })

  it('verify --repair reports extra files and keeps them; --prune takes them out of the install', async () => {
    const c = client()
    expect((await get(c, 'stable')).code).toBe(0)
    await writeAll(c.install, { 'saves/slot1.sav': 'slot one' })
    await writeFile(join(c.install, 'scripts/module05.lua'), 'damaged')
    const args = ['verify', '--repair', '--dir', c.install, '--pubkey', pub()]
    const repair = await shoal(c, args)
    expect(repair.code, repair.stderr).toBe(0)
    expect(repair.events.find((e) => e['event'] === 'verified')!['extra']).toEqual(['saves/slot1.sav'])
    expect(await treeHash(c.install)).toEqual({ ...v1Tree, ...(await userTree({ 'saves/slot1.sav': 'slot one' })) })

    const pruned = await shoal(c, [...args, '--prune'])
    expect(pruned.code, pruned.stderr).toBe(0)
    expect(await treeHash(c.install)).toEqual(v1Tree)
    expect(await readFile(join(c.backup, 'saves/slot1.sav'), 'utf8')).toBe('slot one')
    await outsideUnchanged()
  })
})

describe('one lock per install folder', () => {
  it('a second get with another data dir is refused with E_BUSY while the first works; the first completes', async () => {
    const c = client()
    const other = { ...c, data: join(dir, 'data-other') }
    // Capped, so the first is still fetching when the second starts.
    const slow = startCli(['get', url('stable'), '--pubkey', pub(), '--dir', c.install, '--limit-down', '512KiB'], { SHOAL_DATA_DIR: c.data })
    await slow.waitFor('progress', (e) => (e['bytes'] as { cdn: number }).cdn > 0)
    const second = await get(other, 'stable')
    expect(second.last, JSON.stringify(second.last)).toMatchObject({ event: 'error', code: 'E_BUSY' })
    const first = await slow.exited()
    expect(first.code).toBe(0)
    expect(await treeHash(c.install)).toEqual(v1Tree)
    // Once the first is done, the folder is free again (for the data dir that owns it).
    expect((await get(c, 'beta')).code).toBe(0)
    expect(await treeHash(c.install)).toEqual(v2Tree)
    await outsideUnchanged()
  })
})

describe('an install folder that is a link', () => {
  it('installs and updates where the folder really is: staging, backup and lock beside the real folder, the link kept', async () => {
    const c = client()
    const disk = await mkdtemp(join(dir, 'other-disk-'))
    const real = join(disk, 'game')
    await mkdir(real)
    await symlink(real, c.install)
    for (const channel of ['stable', 'beta']) {
      const run = await get(c, channel)
      expect(run.code, run.stderr).toBe(0)
    }
    expect(await readlink(c.install)).toBe(real)
    expect(await treeHash(real)).toEqual(v2Tree)
    expect(await treeHash(join(disk, '.game.shoal-previous'))).toEqual(v1Tree)
    expect((await readdir(disk)).sort()).toEqual(['.game.shoal-lock', '.game.shoal-patches', '.game.shoal-previous', '.game.shoal-release', 'game'])
    expect((await readdir(dir)).filter((n) => n.includes(c.install.split('/').pop()!))).toEqual([c.install.split('/').pop()])
    await outsideUnchanged()
  })

  it('links inside the install are never followed for reuse: a planted data -> elsewhere link does not bring outside files in', async () => {
    const c = client()
    expect((await get(c, 'stable')).code).toBe(0)
    // Files outside the install with the release's exact content, reached through a planted link.
    const elsewhere = join(dir, `elsewhere-${c.install.split('/').pop()}`)
    await cp(join(c.install, 'data'), elsewhere, { recursive: true })
    await rm(join(c.install, 'data'), { recursive: true })
    await symlink(elsewhere, join(c.install, 'data'))
    const outside = await treeHash(elsewhere)

    const repair = await shoal(c, ['verify', '--repair', '--dir', c.install, '--pubkey', pub()])
    expect(repair.code, repair.stderr).toBe(0)
    expect((await lstat(join(c.install, 'data'))).isDirectory()).toBe(true)
    // The planted link is the user's: kept beside, as a link (dropped here, so the tree can be hashed).
    expect(await readlink(join(c.install, 'data.user-1'))).toBe(elsewhere)
    await rm(join(c.install, 'data.user-1'))
    expect(await treeHash(c.install)).toEqual(v1Tree)
    for (const path of Object.keys(outside)) {
      const [inside, there] = await Promise.all([stat(join(c.install, 'data', path)), stat(join(elsewhere, path))])
      expect(inside.ino, path).not.toBe(there.ino)
    }
    expect(await treeHash(elsewhere)).toEqual(outside)
    await outsideUnchanged()
  })
})

describe('validly signed hostile releases are refused at planning time, before anything is staged', () => {
  let h: Fixture
  let hostDir: string
  let hostNginx: Nginx
  let n = 0

  beforeAll(async () => {
    hostDir = await mkdtemp(join(tmpdir(), 'shoal-hostile-'))
    h = await makeFixture(hostDir, 256 * 1024)
    const published = await h.publish(join(hostDir, 'build-v1'), '1.0.0')
    if (published.code !== 0) throw new Error(published.stderr)
    hostNginx = await startNginx(h.cdn, join(hostDir, 'nginx'))
  }, 60_000)

  afterAll(async () => {
    await hostNginx?.stop()
    await rm(hostDir, { recursive: true, force: true })
  })

  /** Forges the channel's manifest, runs `get` into a fresh folder, and restores the release. */
  async function getForged(edit: (m: Manifest) => void): Promise<{ last: Record<string, unknown>; parent: string }> {
    const pointer = await readFile(h.pointerPath)
    const manifestPath = join(h.cdn, 'game', '1.0.0', 'manifest.json')
    const manifest = await readFile(manifestPath)
    await h.forge(edit)
    const parent = join(hostDir, `client-${++n}`)
    await mkdir(parent)
    await writeFile(join(parent, 'outside.txt'), 'untouched')
    const run = await runCli(['get', `${hostNginx.url}/game/channels/stable.json`, '--pubkey', join(h.keyDir, 'publisher.pub'), '--dir', join(parent, 'install'), '--json'], { SHOAL_DATA_DIR: join(parent, 'data') })
    await writeFile(h.pointerPath, pointer)
    await writeFile(manifestPath, manifest)
    return { last: run.last, parent }
  }

  /** Nothing was installed or staged, and the file beside the install is as it was. */
  async function nothingWritten(parent: string): Promise<void> {
    expect((await readdir(parent)).filter((e) => e !== 'data' && e !== '.install.shoal-lock')).toEqual(['outside.txt'])
    expect(await readFile(join(parent, 'outside.txt'), 'utf8')).toBe('untouched')
  }

  it('one chunk repeated 16 million times: E_LIMIT', async () => {
    const { last, parent } = await getForged((m) => {
      const chunk = m.files[0]!.chunks[0]!
      const refs = 16_777_216
      const size = m.chunks.size[chunk]! * refs
      m.totals.bytes += size - m.files[0]!.size
      m.totals.chunkRefs += refs - m.files[0]!.chunks.length
      m.files[0]!.chunks = new Array<number>(refs).fill(chunk)
      m.files[0]!.size = size
    })
    expect(last, JSON.stringify(last)).toMatchObject({ event: 'error', code: 'E_LIMIT' })
    await nothingWritten(parent)
  })

  it.each([
    ['4,095 characters with the install prefix', 'x/'.repeat(2046) + 'end'],
    ['a 204-character name of 404 bytes', `${'é'.repeat(200)}.bin`],
  ])('a path too long for the file system (%s): E_UNSAFE_PATH', async (_name, path) => {
    const { last, parent } = await getForged((m) => void (m.files[0]!.path = path))
    expect(last, JSON.stringify(last)).toMatchObject({ event: 'error', code: 'E_UNSAFE_PATH' })
    await nothingWritten(parent)
  })

  it.each([
    ['ſ.txt', 's.txt'],
    ['ı.txt', 'i.txt'],
    ['COM¹', 'a.txt'],
    ['CONIN$', 'a.txt'],
    ['conout$.log', 'a.txt'],
    ['LPT³.dat', 'a.txt'],
  ])('%s beside %s: E_UNSAFE_PATH', async (first, second) => {
    const { last, parent } = await getForged((m) => {
      m.files[0]!.path = `data/${first}`
      m.files[1]!.path = `data/${second}`
    })
    expect(last, JSON.stringify(last)).toMatchObject({ event: 'error', code: 'E_UNSAFE_PATH' })
    await nothingWritten(parent)
  })
})
