// Runs the engine (the agent from app/) in an Electron utility process, so hashing at 100+ MB/s
// never blocks the window or the tray, and restarts it if it dies. Main talks to it through the
// same local API as every other client, so `client` is a ShoalClient that survives restarts.
import { utilityProcess, type UtilityProcess } from 'electron'
import * as v from 'valibot'
import type { ApiEvent, ShoalClient } from '../shared/api-contract.ts'
import { nodeAgentClient } from '../app/agent/agent-client.ts'
import { engineReadySchema } from '../shared/ipc-contract.ts'

export interface EngineHostOptions {
  readonly entry: string
  readonly args: readonly string[]
  readonly env?: Record<string, string>
  /** First restart delay; doubles on each crash in a row, up to 30 s. */
  readonly restartDelayMs?: number
  readonly onExit?: (code: number) => void
}

export interface EngineHost {
  readonly client: ShoalClient
  /** Resolves once the engine answered for the first time. */
  readonly ready: Promise<void>
  stop(): void
}

const MAX_RESTART_MS = 30_000

export function startEngine(options: EngineHostOptions): EngineHost {
  const listeners = new Set<(event: ApiEvent) => void>()
  let current: ShoalClient | null = null
  let unsubscribe: (() => void) | null = null
  let child: UtilityProcess | null = null
  let stopped = false
  let delay = options.restartDelayMs ?? 500
  let waiters: ((client: ShoalClient) => void)[] = []
  let markReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => (markReady = resolve))

  const connected = (): Promise<ShoalClient> => (current ? Promise.resolve(current) : new Promise((resolve) => waiters.push(resolve)))

  const spawn = (): void => {
    const proc = utilityProcess.fork(options.entry, [...options.args], {
      serviceName: 'Shoal engine',
      stdio: 'inherit',
      ...(options.env ? { env: options.env } : {}),
    })
    child = proc
    proc.on('message', (message: unknown) => {
      const parsed = v.safeParse(engineReadySchema, message)
      if (!parsed.success) return
      const client = nodeAgentClient(parsed.output.url, parsed.output.token)
      current = client
      delay = options.restartDelayMs ?? 500
      unsubscribe?.()
      unsubscribe = client.subscribe((event) => {
        for (const listener of listeners) listener(event)
      })
      for (const resolve of waiters) resolve(client)
      waiters = []
      markReady()
    })
    proc.on('exit', (code: number) => {
      if (child !== proc) return
      current = null
      unsubscribe?.()
      unsubscribe = null
      options.onExit?.(code)
      if (stopped) return
      setTimeout(spawn, delay)
      delay = Math.min(delay * 2, MAX_RESTART_MS)
    })
  }

  const via =
    <A extends unknown[], R>(pick: (c: ShoalClient) => (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const client = await connected()
      return pick(client).apply(client, args)
    }

  const client: ShoalClient = {
    status: via((c) => c.status),
    addProduct: via((c) => c.addProduct),
    removeProduct: via((c) => c.removeProduct),
    checkProduct: via((c) => c.checkProduct),
    createJob: via((c) => c.createJob),
    jobAction: via((c) => c.jobAction),
    setPausedAll: via((c) => c.setPausedAll),
    patchSettings: via((c) => c.patchSettings),
    history: via((c) => c.history),
    subscribe(onEvent) {
      listeners.add(onEvent)
      return () => listeners.delete(onEvent)
    },
  }

  spawn()
  return {
    client,
    ready,
    stop() {
      stopped = true
      unsubscribe?.()
      child?.kill()
    },
  }
}
