// Network namespaces for tests that must send packets a real network would see (LAN
// discovery multicasts out of every interface): a router namespace joins one bridge per
// subnet, and each host is its own namespace on one of them. Nothing touches the root
// namespace, and every namespace is deleted again, on close or when the process exits.
import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import { processAlive } from '../../app/engine/install/process-alive.ts'

const run = promisify(execFile)
const PREFIX = 'shoaltest-'

export interface LabHost {
  readonly ns: string
  /** The host's address on its subnet (the router's is `.1`). */
  readonly address: string
  /** Prefix that runs a command inside the namespace. */
  readonly wrap: readonly string[]
}

export interface Lab {
  readonly router: LabHost & { readonly addresses: Record<string, string> }
  readonly hosts: Record<string, LabHost>
  /** Kills what still runs in the namespaces and deletes them. */
  close(): Promise<void>
}

export interface LabPlan {
  /** Subnet name → its first three octets, e.g. { a: '198.18.1' }: each subnet is a /24. */
  readonly subnets: Record<string, string>
  /** Host name → the subnet it sits on; hosts get .2, .3, … in this order. */
  readonly hosts: Record<string, string>
}

const open = new Set<string>()
process.once('exit', () => {
  for (const ns of open) deleteNowSync(ns)
})

function deleteNowSync(ns: string): void {
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' })
  } catch {
    // Already gone.
  }
}

const ip = (...args: string[]) => run('ip', args)

/** Why namespaces cannot be used here, or undefined when they can. */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `network namespaces need Linux, this is ${process.platform}`
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root'
  const probe = `${PREFIX}${process.pid}-probe-${randomBytes(3).toString('hex')}`
  try {
    await ip('netns', 'add', probe)
  } catch (err) {
    return `\`ip netns add\` failed: ${(err as Error).message.split('\n')[0]}`
  }
  await ip('netns', 'del', probe)
  return undefined
}

/** Namespaces left by test processes that died before they could delete them. */
async function sweepStale(): Promise<void> {
  const { stdout } = await ip('netns', 'list')
  for (const line of stdout.split('\n')) {
    const m = new RegExp(`^(${PREFIX}(\\d+)-\\S+)`).exec(line)
    if (!m || processAlive(Number(m[2]))) continue
    await ip('netns', 'del', m[1]!).catch(() => undefined)
  }
}

async function killAndDelete(ns: string): Promise<void> {
  const { stdout } = await ip('netns', 'pids', ns).catch(() => ({ stdout: '' }))
  for (const pid of stdout.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL')
    } catch {
      // Exited meanwhile.
    }
  }
  await ip('netns', 'del', ns).catch(() => undefined)
  open.delete(ns)
}

/** Builds the subnets, the router between them and the hosts, each in a namespace with a unique name. */
export async function createLab(plan: LabPlan): Promise<Lab> {
  await sweepStale()
  const tag = `${PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`
  const wrap = (ns: string) => ['ip', 'netns', 'exec', ns] as const
  const made: string[] = []
  const addNs = async (ns: string) => {
    await ip('netns', 'add', ns)
    made.push(ns)
    open.add(ns)
    await ip('-n', ns, 'link', 'set', 'lo', 'up')
  }
  const lab: Lab = {
    router: { ns: `${tag}-router`, address: '', wrap: wrap(`${tag}-router`), addresses: {} },
    hosts: {},
    close: async () => {
      for (const ns of made.splice(0).reverse()) await killAndDelete(ns)
    },
  }
  try {
    const r = lab.router.ns
    await addNs(r)
    await run('ip', ['netns', 'exec', r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
    for (const [name, prefix] of Object.entries(plan.subnets)) {
      const bridge = `br-${name}`
      // Without multicast snooping the bridge floods multicast to every port, as a plain switch does.
      await ip('-n', r, 'link', 'add', bridge, 'type', 'bridge', 'mcast_snooping', '0')
      await ip('-n', r, 'addr', 'add', `${prefix}.1/24`, 'dev', bridge)
      await ip('-n', r, 'link', 'set', bridge, 'up')
      lab.router.addresses[name] = `${prefix}.1`
    }
    const next: Record<string, number> = {}
    let port = 0
    for (const [name, subnet] of Object.entries(plan.hosts)) {
      const prefix = plan.subnets[subnet]
      if (!prefix) throw new Error(`host ${name} is on unknown subnet ${subnet}`)
      const ns = `${tag}-${name}`
      await addNs(ns)
      const address = `${prefix}.${(next[subnet] = (next[subnet] ?? 1) + 1)}`
      const routerPort = `v${port++}`
      await ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', routerPort, 'netns', r)
      await ip('-n', r, 'link', 'set', routerPort, 'master', `br-${subnet}`, 'up')
      await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0')
      await ip('-n', ns, 'link', 'set', 'eth0', 'up')
      await ip('-n', ns, 'route', 'add', 'default', 'via', `${prefix}.1`)
      lab.hosts[name] = { ns, address, wrap: wrap(ns) }
    }
  } catch (err) {
    await lab.close()
    throw err
  }
  return lab
}

/** Resolves once something in `host` listens on UDP `port` (LAN discovery binds 6771). */
export async function waitForUdpListener(host: LabHost, port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const { stdout } = await run(host.wrap[0]!, [...host.wrap.slice(1), 'ss', '-Hlun', `sport = :${port}`])
    if (stdout.trim()) return
    if (Date.now() > until) throw new Error(`nothing listens on UDP ${port} in ${host.ns}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
