import { createRequire } from 'node:module'
import { ERROR_CODES, isShoalError, ShoalError } from '../../shared/errors.ts'
import { formatBytes } from '../../shared/units.ts'

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { [key: string]: JsonValue | undefined }

/** What a progress line adds to bytes done: a short text for people, fields for --json. */
export interface ProgressDetail {
  readonly text: string
  readonly json: Record<string, JsonValue>
}

export interface ProgressLine {
  /** `detail` is called only when a line is actually shown. */
  update(done: number, total: number, detail?: () => ProgressDetail): void
  stop(): void
}

/** cli-progress (and readline under it) only for a bar on a terminal: `shoal agent` and --json runs never draw one. */
const loadCliProgress = () => createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress')

const JSON_PROGRESS_INTERVAL_MS = 250
const PLAIN_PROGRESS_INTERVAL_MS = 2000

/**
 * All of a command's output. With --json, stdout carries one JSON object per line
 * and the last one is the result; otherwise people get text, and a bar on a TTY.
 */
export class Output {
  readonly json: boolean
  private readonly stdout: NodeJS.WriteStream
  private readonly stderr: NodeJS.WriteStream

  constructor(json: boolean, stdout: NodeJS.WriteStream = process.stdout, stderr: NodeJS.WriteStream = process.stderr) {
    this.json = json
    this.stdout = stdout
    this.stderr = stderr
  }

  /** A human line (stderr in JSON mode, so stdout stays machine-readable). */
  info(line: string): void {
    ;(this.json ? this.stderr : this.stdout).write(line + '\n')
  }

  event(event: string, fields: Record<string, JsonValue | undefined>): void {
    if (this.json) this.stdout.write(JSON.stringify({ event, ...fields }) + '\n')
  }

  result(fields: Record<string, JsonValue | undefined>, human: () => string): void {
    if (this.json) this.event('result', fields)
    else this.stdout.write(human() + '\n')
  }

  error(err: unknown): number {
    const e = isShoalError(err) ? err : new ShoalError('E_INTERNAL', String((err as Error)?.message ?? err).split('\n')[0]!, 'please report this with the command you ran; SHOAL_DEBUG=1 prints the stack')
    if (!isShoalError(err) && process.env['SHOAL_DEBUG']) this.stderr.write(`${(err as Error)?.stack ?? err}\n`)
    const hint = e.hint ? ` (${e.hint})` : ''
    this.stderr.write(`shoal: ${e.code}: ${e.message}${hint}\n`)
    if (this.json) this.event('error', { code: e.code, kind: ERROR_CODES[e.code], message: e.message, hint: e.hint })
    return e.code === 'E_USAGE' ? 2 : 1
  }

  progress(label: string): ProgressLine {
    if (this.json) return this.throttled(JSON_PROGRESS_INTERVAL_MS, (done, total, detail) => this.event('progress', { phase: label, done, total, ...detail?.().json }))
    if (!this.stderr.isTTY) {
      return this.throttled(PLAIN_PROGRESS_INTERVAL_MS, (done, total, detail) => this.stderr.write(`${label}: ${formatBytes(done)} of ${formatBytes(total)}${detail ? ` | ${detail().text}` : ''}\n`))
    }
    const cliProgress = loadCliProgress()
    const bar = new cliProgress.SingleBar(
      { stream: this.stderr, format: `${label.padEnd(6)} [{bar}] {percentage}% | {doneText} of {totalText} | {rate}/s | ETA {eta_formatted} {detail}`, hideCursor: true, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    )
    const started = Date.now()
    let running = false
    return {
      update: (done, total, detail) => {
        const fields = { doneText: formatBytes(done), totalText: formatBytes(total), rate: formatBytes(Math.round(done / Math.max(0.001, (Date.now() - started) / 1000))), detail: detail ? `| ${detail().text}` : '' }
        if (!running) bar.start(total, done, fields)
        running = true
        bar.setTotal(total)
        bar.update(done, fields)
      },
      stop: () => {
        if (running) bar.stop()
        running = false
      },
    }
  }

  private throttled(intervalMs: number, emit: (done: number, total: number, detail?: () => ProgressDetail) => void): ProgressLine {
    let last = 0
    let pending: [number, number, (() => ProgressDetail) | undefined] | undefined
    return {
      update: (done, total, detail) => {
        const now = Date.now()
        if (now - last >= intervalMs) {
          last = now
          pending = undefined
          emit(done, total, detail)
        } else pending = [done, total, detail]
      },
      stop: () => {
        if (pending) emit(...pending)
        pending = undefined
      },
    }
  }
}
