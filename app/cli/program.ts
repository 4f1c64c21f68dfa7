// The CLI's commands and flags. Each command's module is imported when that command runs, so
// `shoal get` never loads the agent's web server, the tracker or (without peers) webtorrent.
import { homedir } from 'node:os'
import { Command, InvalidArgumentError, Option } from 'commander'
import { ShoalError } from '../../shared/errors.ts'
import { releaseScopes, type ReleaseScope } from '../../shared/release-schema.ts'
import { parseBytes, parseDuration } from '../../shared/units.ts'
import { SITE_ID } from '../../shared/api-contract.ts'
import type { AddFlags } from './commands/agent-control.ts'
import type { FetchFlags, GetFlags } from './commands/get.ts'
import type { SeedFlags } from './commands/seed.ts'
import { DEFAULT_CONNECTIONS, DEFAULT_MAX_PEERS, DEFAULT_MIN_RATE, PEER_ENCRYPTION } from '../engine/engine.ts'
import { defaultDataDir } from './data-dir.ts'
import { DEFAULT_PATCH_FROM_VERSIONS } from '../release/publish-defaults.ts'
import { Output } from './output.ts'

function bytesArg(value: string): number {
  const n = parseBytes(value)
  if (n === undefined) throw new InvalidArgumentError('expected a size such as 65536, 64KiB or 4MiB')
  return n
}

function durationArg(value: string): number {
  const n = parseDuration(value)
  if (n === undefined) throw new InvalidArgumentError('expected a duration such as 30d, 12h or 90s')
  return n
}

/** A percentage, or 'off' (null). */
function slipArg(value: string): number | null {
  if (value === 'off') return null
  const n = Number(value.replace(/%$/, ''))
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError("expected a percentage such as 10 or 25%, or 'off'")
  return n
}

function positiveInt(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('expected a whole number from 1 to 64')
  return n
}

function patchVersions(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 16) throw new InvalidArgumentError('expected a whole number from 0 to 16')
  return n
}

function siteArg(value: string): string {
  if (!SITE_ID.test(value)) throw new InvalidArgumentError('expected 1-64 of A-Z a-z 0-9 . _ : / -')
  return value
}

function wholeNumber(value: string): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of 1 or more')
  return n
}

const collect = (value: string, previous: string[]) => [...previous, value]

/**
 * `--lsd`/`--no-lsd`; neither leaves LAN discovery to the release's scope. SHOAL_NO_LSD (set to
 * anything) stands for `--no-lsd`, so a machine or a test run can keep multicast off everywhere.
 */
const lsdOptions = (cmd: Command) =>
  cmd
    .option('--lsd', "announce and find peers on the LAN (BEP 14 local service discovery) whatever the release's scope")
    .addOption(new Option('--no-lsd', 'no LAN discovery, even for a lan or public release').env('SHOAL_NO_LSD'))

/** A rate for `shoal caps`: a size per second, or "off" for unlimited. */
function capArg(value: string): number | null {
  if (value === 'off' || value === 'unlimited') return null
  const n = parseBytes(value)
  if (n === undefined || n < 1) throw new InvalidArgumentError('expected a rate such as 5MiB, or off')
  return n
}

/** Flags of the commands that talk to peers (get, seed). */
const peerOptions = (cmd: Command) =>
  cmd
    .option('--tracker <url>', "announce URL besides the manifest's own (repeatable)", collect, [])
    .option('--tracker-token-file <file>', 'send ?token=<contents> with every announce')
    .option('--limit-up <rate>', 'upload cap in bytes per second, e.g. 10MiB (default: unlimited)', bytesArg, 0)
    .option('--max-peers <n>', 'most peer connections at once, incoming included', (v) => positiveInt(v), DEFAULT_MAX_PEERS)
    .option('--listen <address>', 'the address peers connect to (default: every interface)')
    .option('--site <id>', "site or group id told to Shoal's tracker, which hands out peers of the same site first (default: the subnet)", siteArg)
    .addOption(new Option('--peer-encryption <mode>', 'for public releases, BitTorrent protocol encryption (MSE/PE): off, prefer (offer it, accept plaintext) or require (RC4 only); private and lan releases always use TLS 1.3').choices(Object.keys(PEER_ENCRYPTION)).default('prefer'))
    .addOption(new Option('--admission-key <file>', "the swarm's admission private key, on the operator's own machines: issue this client's peer pass locally instead of enrolling with the control service").env('SHOAL_ADMISSION_KEY'))
    .option('--revocation-check <duration>', "how often the swarm's revocation list is fetched again; sessions it revokes are closed", durationArg, parseDuration('5m'))

export function buildProgram(): Command {
  const program = new Command('shoal')
    .description('Deliver large releases from a CDN and from peers, verified byte by byte.')
    .version('0.1.0', '-V', 'print the version (--version belongs to publish)')
    .addOption(new Option('--data-dir <dir>', "Shoal's state folder").env('SHOAL_DATA_DIR').default(defaultDataDir(process.platform, process.env, homedir())))
    .option('--json', 'one JSON object per line on stdout; the last one is the result', false)
    .showHelpAfterError()
    // Set before the subcommands exist so they inherit it: every failure reaches main() and gets a code.
    .exitOverride()
    .configureOutput({ writeErr: () => {} })

  const output = () => new Output(Boolean(program.opts()['json']))

  program
    .command('keygen')
    .description('create an ed25519 key pair: NAME.key (mode 600) and NAME.pub')
    .requiredOption('--out <dir>', 'folder for the key pair; existing keys are never overwritten')
    .option('--name <name>', 'publisher, or admission for a swarm admission key held by a control service', 'publisher')
    .action(async (opts: { out: string; name: string }) => (await import('./commands/keygen.ts')).keygenCommand(output(), opts.out, opts.name))

  program
    .command('publish')
    .description('chunk a build folder, add its new chunks to the pack, sign the manifest and move the channel to it')
    .argument('<build-dir>', 'folder holding the release files')
    .requiredOption('--product <id>', 'product id, e.g. mygame')
    .requiredOption('--version <semver>', 'release version, e.g. 1.2.0')
    .requiredOption('--channel <name>', 'channel to point at this release, e.g. stable')
    .requiredOption('--key <file>', 'publisher private key (from shoal keygen)')
    .requiredOption('--out <cdn-root>', 'CDN root folder; the release goes under <cdn-root>/<product>/')
    .option('--tracker <url>', 'tracker announce URL (repeatable)', collect, [])
    .option('--mirror <url>', 'extra CDN base URL for the product root, listed in the pointer (repeatable)', collect, [])
    .addOption(new Option('--scope <scope>', 'where peers may find each other: private (trackers and given peers only), lan (also local service discovery on the LAN), public (also the DHT, when a policy allows it)').choices(releaseScopes).default('lan'))
    .option('--admission-key <file>', "public (or private) key of the control service that admits peers to the swarm; default: the publisher's key")
    .option('--piece-size <bytes>', 'torrent piece length for the first release of a product (default 4MiB)', bytesArg)
    .option('--chunk-min <bytes>', 'smallest chunk (default: avg/4)', bytesArg)
    .option('--chunk-avg <bytes>', "typical chunk, a power of two (default: the product's previous release, else 16KiB; 64KiB above 16 GiB)", bytesArg)
    .option('--chunk-max <bytes>', 'largest chunk (default: avg*4)', bytesArg)
    .option('--patch-from-versions <k>', 'give each changed file a zstd patch from each of the K previous versions, kept where smaller than its new chunks (0: chunks only)', patchVersions, DEFAULT_PATCH_FROM_VERSIONS)
    .option('--expires-in <duration>', 'how long the channel pointer stays valid', durationArg, parseDuration('30d'))
    .option('--allow-downgrade', 'allow moving the channel to a lower version', false)
    .action(
      async (
        buildDir: string,
        o: { product: string; version: string; channel: string; key: string; out: string; tracker: string[]; mirror: string[]; scope: ReleaseScope; admissionKey?: string; pieceSize?: number; chunkMin?: number; chunkAvg?: number; chunkMax?: number; patchFromVersions: number; expiresIn: number; allowDowngrade: boolean },
      ) =>
        (await import('./commands/publish.ts')).publishCommand(output(), buildDir, {
          ...o,
          admissionKey: o.admissionKey,
          pieceSize: o.pieceSize,
          chunking: { min: o.chunkMin, avg: o.chunkAvg, max: o.chunkMax },
        }),
    )

  program
    .command('inspect')
    .description('fetch and verify a channel pointer and its manifest, then summarise the release')
    .argument('<pointer>', 'channel pointer URL or file, e.g. http://cdn/mygame/channels/stable.json')
    .requiredOption('--pubkey <file>', 'publisher public key')
    .action(async (pointer: string, o: { pubkey: string }) => (await import('./commands/inspect.ts')).inspectCommand(output(), pointer, o.pubkey))

  const fetchOptions = (cmd: Command) =>
    lsdOptions(cmd)
      .requiredOption('--pubkey <file>', 'publisher public key')
      .requiredOption('--dir <install-dir>', 'install folder; holds exactly the release files, state lives in --data-dir')
      .option('--mirror <url>', 'extra CDN base URL of the product root (repeatable)', collect, [])
      .option('--limit-down <rate>', 'download cap in bytes per second, e.g. 20MiB (default: unlimited)', bytesArg, 0)
      .option('--connections <n>', 'parallel range requests', (v) => positiveInt(v), DEFAULT_CONNECTIONS)
      .option('--stall-timeout <duration>', 'retry a request that receives nothing for this long', durationArg, parseDuration('15s'))
      .option('--min-rate <rate>', 'cut a request that receives less than this per second for two --stall-timeout windows, and fetch it elsewhere (0: no floor)', bytesArg, DEFAULT_MIN_RATE)
  const dataDir = () => program.opts()['dataDir'] as string

  peerOptions(
    fetchOptions(
      program
        .command('get')
        .description('install or update a folder to the release a channel points at, from the CDN, verified byte by byte')
        .argument('<channel>', 'channel pointer URL or file, e.g. http://cdn/mygame/channels/stable.json'),
    ),
  )
    .option('--allow-downgrade', 'install a lower version than the one installed', false)
    .option('--peer <host:port>', 'a peer to ask before the CDN (repeatable)', collect, [])
    .option('--peer-stall <duration>', 'peers that unchoked us and deliver nothing for this long count as gone: the CDN takes their pieces (a peer still choking us is waited for)', durationArg, parseDuration('5s'))
    .option('--target-rate <rate>', 'hold this download rate by topping up from the CDN when peers fall short, e.g. 40MB (replaces the finish bound)', bytesArg, 0)
    .option('--finish-slip <percent>', "finish at most this much later than the CDN alone would: the CDN tops up only when peers would make you wait longer; 'off': the CDN only fills what peers cannot", slipArg, 10)
    .option('--seed', 'after installing, keep seeding the release until stopped (Ctrl-C)', false)
    .action(async (channel: string, o: GetFlags) => (await import('./commands/get.ts')).getCommand(output(), dataDir(), channel, o))

  fetchOptions(program.command('verify').description('recheck an install against its manifest (chunks, file SHA-256, modes, extra files); --repair fixes it from the CDN'))
    .option('--repair', 'rebuild damaged files, reusing every chunk that still verifies; extra files are kept', false)
    .option('--prune', 'with --repair: also take the extra files out of the install (they stay in the previous version\'s folder until the next update)', false)
    .action(async (o: FetchFlags & { repair: boolean; prune: boolean }) => (await import('./commands/get.ts')).verifyCommand(output(), dataDir(), o))

  peerOptions(lsdOptions(program.command('seed').description('serve an installed release to peers until stopped; every piece is verified before it is uploaded')))
    .requiredOption('--dir <install-dir>', 'install folder')
    .requiredOption('--pubkey <file>', 'publisher public key')
    .option('--port <n>', 'TCP port for peers (0 picks a free one)', (v) => Number(v), 0)
    .action(async (o: Omit<SeedFlags, 'trackerTokenFile' | 'listen' | 'lsd'> & { trackerTokenFile?: string; listen?: string; lsd?: boolean }) => (await import('./commands/seed.ts')).seedCommand(output(), dataDir(), { ...o, trackerTokenFile: o.trackerTokenFile, listen: o.listen, lsd: o.lsd }))

  program
    .command('tracker')
    .description('run a BitTorrent tracker for Shoal releases: HTTP only, optional token, nearest suitable peers first')
    .option('--port <n>', 'TCP port (0 picks a free one)', (v) => Number(v), 8000)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--token-file <file>', 'announces and scrapes must carry ?token=<contents of this file>; it is also the credential peers enroll with')
    .option('--redis <url>', 'keep swarms in this Redis (redis://host:port/db, or redis+sentinel://host:port[,host:port]/name for a Sentinel-watched primary), shared by any number of instances')
    .option('--interval <duration>', 'how often clients announce; peers are dropped one interval plus a margin after their last', durationArg, parseDuration('10m'))
    .option('--max-swarms <n>', 'most swarms at once; announces for more are refused', wholeNumber, 10_000)
    .option('--admission-key <file>', 'admission private key (the one releases name, or the publisher key): issue peer passes at /admission/pass')
    .option('--revoked <file>', 'revoked pass serials or peer keys, one per line, served signed at /admission/revoked (re-read when it changes)')
    .option('--pass-lifetime <duration>', 'how long a peer pass lasts', durationArg, parseDuration('4h'))
    .action(async (o: { port: number; host: string; tokenFile?: string; redis?: string; interval: number; maxSwarms: number; admissionKey?: string; revoked?: string; passLifetime: number }) =>
      (await import('./commands/tracker.ts')).trackerCommand(output(), { port: o.port, host: o.host, tokenFile: o.tokenFile, redis: o.redis, intervalMs: o.interval, maxSwarms: o.maxSwarms, admissionKey: o.admissionKey, revoked: o.revoked, passSeconds: Math.round(o.passLifetime / 1000) }),
    )

  lsdOptions(
    program
      .command('agent')
      .description('run the headless engine: products, job queue, caps and policy, with a control API on 127.0.0.1')
      .option('--port <n>', 'TCP port of the control API (0 picks a free one)', (v) => Number(v), 0)
      .option('--policy <file>', 'managed policy file (default: the OS location, or SHOAL_POLICY)')
      .option('--allow-origin <origin>', 'a browser origin besides the agent itself that may call the API (repeatable)', collect, [])
      .option('--tracker-token-file <file>', 'token for announces, opt-in offload reports and peer-pass enrollment')
      .addOption(new Option('--admission-key <file>', "swarm admission private key, on the operator's own machines: issue this agent's peer passes locally").env('SHOAL_ADMISSION_KEY')),
  ).action(async (o: { port: number; policy?: string; allowOrigin: string[]; trackerTokenFile?: string; lsd?: boolean; admissionKey?: string }) =>
    (await import('./commands/agent.ts')).agentCommand(output(), dataDir(), { port: o.port, policy: o.policy, allowOrigin: o.allowOrigin, trackerTokenFile: o.trackerTokenFile, lsd: o.lsd, admissionKey: o.admissionKey }),
  )

  program
    .command('status')
    .description('show the running agent: products, jobs, caps and policy')
    .action(async () => (await import('./commands/agent-control.ts')).statusCommand(output(), dataDir()))

  program
    .command('add')
    .description('add a product to the running agent and queue its install')
    .argument('<channel>', 'channel pointer URL, e.g. http://cdn/mygame/channels/stable.json')
    .requiredOption('--pubkey <file>', 'publisher public key')
    .requiredOption('--dir <install-dir>', 'install folder')
    .option('--name <name>', 'display name')
    .option('--mirror <url>', 'extra CDN base URL of the product root (repeatable)', collect, [])
    .option('--no-install', 'only add it; do not queue the install')
    .option('--background', 'install in background mode (yields to other traffic)', false)
    .action(async (channel: string, o: AddFlags) => (await import('./commands/agent-control.ts')).addCommand(output(), dataDir(), channel, o))

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    program
      .command(action)
      .description(`${action} a job (by id prefix or product id)${action === 'cancel' ? '' : '; without one, every transfer'}`)
      .argument('[job]', 'job id (a prefix is enough) or product id')
      .action(async (job: string | undefined) => (await import('./commands/agent-control.ts')).jobActionCommand(output(), dataDir(), action, job))
  }

  program
    .command('caps')
    .description('show or set the running agent\'s bandwidth caps (bytes per second; "off" is unlimited)')
    .option('--down <rate>', 'global download cap', capArg)
    .option('--up <rate>', 'global upload cap', capArg)
    .option('--cdn <rate>', 'download cap for the CDN', capArg)
    .option('--peers-down <rate>', 'download cap for peers', capArg)
    .option('--peers-up <rate>', 'upload cap for peers', capArg)
    .action(async (o: { down?: number | null; up?: number | null; cdn?: number | null; peersDown?: number | null; peersUp?: number | null }) => (await import('./commands/agent-control.ts')).capsCommand(output(), dataDir(), o))

  program
    .command('policy')
    .description('the managed policy')
    .command('show')
    .description('show the managed policy file, what it locks, and the effective settings')
    .action(async () => (await import('./commands/agent-control.ts')).policyShowCommand(output(), dataDir()))

  program
    .command('history')
    .description('finished installs and updates, and CDN bytes saved per month')
    .action(async () => (await import('./commands/agent-control.ts')).historyCommand(output(), dataDir()))

  program
    .command('rollback')
    .description('switch an install back to the previous version kept by the last update')
    .requiredOption('--dir <install-dir>', 'install folder')
    .action(async (o: { dir: string }) => (await import('./commands/get.ts')).rollbackCommand(output(), dataDir(), o.dir))

  return program
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv as string[])
    // A command may report a finding (verify found damage) through process.exitCode.
    return Number(process.exitCode ?? 0)
  } catch (err) {
    const commanderErr = err as { code?: string; exitCode?: number; message?: string }
    if (commanderErr.code === 'commander.helpDisplayed' || commanderErr.code === 'commander.version') return 0
    const json = argv.includes('--json')
    if (commanderErr.code?.startsWith('commander.')) {
      return new Output(json).error(new ShoalError('E_USAGE', (commanderErr.message ?? 'bad arguments').replace(/^error: /, ''), 'run shoal --help'))
    }
    return new Output(json).error(err)
  }
}

/** Runs the CLI as a process: `argv` as in `process.argv`, the exit code in `process.exitCode`. */
export async function runCli(argv: readonly string[]): Promise<void> {
  // A bug that escapes every await still ends with one error line (and a JSON error event), not a bare stack.
  process.on('unhandledRejection', (err) => {
    process.exitCode = new Output(argv.includes('--json')).error(err)
    process.exit()
  })
  process.exitCode = await main(argv)
}
