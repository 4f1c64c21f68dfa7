import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './free-port.ts'

export interface Nginx {
  readonly url: string
  readonly accessLog: string
  /** Bytes nginx sent (bodies and headers) for requests whose line matches `filter`, from its access log. */
  bytesSent(filter?: RegExp): Promise<number>
  /** Body bytes only, for requests whose line matches `filter`. */
  bodyBytesSent(filter?: RegExp): Promise<number>
  stop(): Promise<void>
}

const NGINX = process.env['SHOAL_NGINX'] ?? '/usr/sbin/nginx'

async function sumLog(path: string, field: number, filter: RegExp | undefined): Promise<number> {
  const log = await readFile(path, 'utf8').catch(() => '')
  return log
    .split('\n')
    .filter((line) => line && (!filter || filter.test(line)))
    .reduce((n, line) => n + (Number(line.split(' ')[field]) || 0), 0)
}

/** Where nginx listens when not on 127.0.0.1: an address inside a network namespace (test/support/netns.ts). */
export interface NginxPlace {
  readonly host: string
  readonly port: number
  /** The command nginx runs under, e.g. `ip netns exec NS`; readiness is probed from there with curl. */
  readonly wrap: readonly string[]
}

const probe = (url: string, place: NginxPlace | undefined): Promise<boolean> =>
  place
    ? new Promise((resolve) => execFile(place.wrap[0]!, [...place.wrap.slice(1), 'curl', '-s', '-o', '/dev/null', '-I', url], (err) => resolve(!err)))
    : fetch(url, { method: 'HEAD' }).then(() => true, () => false)

/** Starts a real nginx serving `root` with byte ranges on 127.0.0.1 (or `place`); `.ci/run` installs nginx-light. */
export async function startNginx(root: string, workDir: string, place?: NginxPlace): Promise<Nginx> {
  const host = place?.host ?? '127.0.0.1'
  const port = place?.port ?? (await freePort())
  await mkdir(join(workDir, 'tmp'), { recursive: true })
  const accessLog = join(workDir, 'access.log')
  const conf = join(workDir, 'nginx.conf')
  await writeFile(
    conf,
    `${process.getuid?.() === 0 ? 'user root;' : ''}
daemon off;
worker_processes 1;
pid ${join(workDir, 'nginx.pid')};
error_log ${join(workDir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log ${accessLog} combined;
  log_format bytes '$bytes_sent $body_bytes_sent $status "$request"';
  client_body_temp_path ${join(workDir, 'tmp')};
  proxy_temp_path ${join(workDir, 'tmp')};
  fastcgi_temp_path ${join(workDir, 'tmp')};
  uwsgi_temp_path ${join(workDir, 'tmp')};
  scgi_temp_path ${join(workDir, 'tmp')};
  sendfile on;
  keepalive_requests 10000;
  types { application/json json; }
  default_type application/octet-stream;
  server {
    listen ${host}:${port};
    root ${root};
    access_log ${accessLog} bytes;
  }
}
`,
  )
  const argv = [...(place?.wrap ?? []), NGINX, '-c', conf, '-p', workDir]
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
  const url = `http://${host}:${port}`
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`)
    const up = await probe(url, place)
    if (up) break
    if (i > 100) throw new Error(`nginx did not start on ${url}: ${stderr}`)
    await sleep(50)
  }
  return {
    url,
    accessLog,
    bytesSent: (filter) => sumLog(accessLog, 0, filter),
    bodyBytesSent: (filter) => sumLog(accessLog, 1, filter),
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    },
  }
}
