// The renderer's state: a snapshot pulled on start, then events applied as they come.
// Jobs live in a record keyed by id and only changed jobs get new objects, so a component that
// selects one job re-renders only when that job changes. Speed samples stay outside the state.
import { createStore, type StoreApi } from 'zustand/vanilla'
import type { ApiEvent, History, Job, ShoalClient, Status } from '../shared/api-contract.ts'
import { SpeedHistory } from './speed-history.ts'

export const VIEWS = ['library', 'download', 'bandwidth', 'sharing', 'history'] as const
export type ViewName = (typeof VIEWS)[number]

export type AgentState = Omit<Status, 'jobs'>

export interface Notice {
  readonly id: number
  readonly level: 'info' | 'warning' | 'error'
  readonly message: string
}

export interface ShoalState {
  readonly connection: 'connecting' | 'live' | 'lost'
  readonly agent: AgentState | null
  readonly jobs: Readonly<Record<string, Job>>
  readonly history: History | null
  readonly notices: readonly Notice[]
  readonly view: ViewName
  readonly selectedJobId: string | null
}

const SPEED_SAMPLES = 240
const MAX_NOTICES = 5

export interface ShoalController {
  readonly store: StoreApi<ShoalState>
  readonly client: ShoalClient
  speed(jobId: string): SpeedHistory
  start(): () => void
  apply(event: ApiEvent): void
  show(view: ViewName, jobId?: string): void
  /** Runs a user action; a failure becomes a notice in plain words instead of an exception. */
  run(label: string, action: (client: ShoalClient) => Promise<unknown>): Promise<boolean>
  refreshHistory(): Promise<void>
  dismiss(noticeId: number): void
}

export function createShoalController(client: ShoalClient, now: () => number = Date.now): ShoalController {
  const store = createStore<ShoalState>(() => ({
    connection: 'connecting',
    agent: null,
    jobs: {},
    history: null,
    notices: [],
    view: 'library',
    selectedJobId: null,
  }))
  const speeds = new Map<string, SpeedHistory>()
  let noticeId = 0

  const speed = (jobId: string): SpeedHistory => {
    let s = speeds.get(jobId)
    if (!s) speeds.set(jobId, (s = new SpeedHistory(SPEED_SAMPLES)))
    return s
  }

  const sample = (jobs: readonly Job[]): void => {
    const at = now()
    for (const job of jobs) if (job.state === 'running' || speeds.has(job.id)) speed(job.id).push(at, job.rates)
  }

  const notify = (level: Notice['level'], message: string): void => {
    const notice = { id: ++noticeId, level, message }
    store.setState((s) => ({ notices: [...s.notices, notice].slice(-MAX_NOTICES) }))
  }

  const applySnapshot = (status: Status): void => {
    const { jobs, ...agent } = status
    sample(jobs)
    store.setState({ connection: 'live', agent, jobs: Object.fromEntries(jobs.map((j) => [j.id, j])) })
  }

  const apply = (event: ApiEvent): void => {
    switch (event.type) {
      case 'snapshot':
        applySnapshot(event.status)
        return
      case 'jobs': {
        sample(event.jobs)
        const finished = event.jobs.some((j) => j.state === 'done')
        store.setState((s) => {
          const jobs = { ...s.jobs }
          for (const job of event.jobs) jobs[job.id] = job
          for (const id of event.removed) delete jobs[id]
          return { jobs }
        })
        if (finished && store.getState().view === 'history') void refreshHistory()
        return
      }
      case 'products':
        store.setState((s) => (s.agent ? { agent: { ...s.agent, products: event.products } } : {}))
        return
      case 'settings':
        store.setState((s) => (s.agent ? { agent: { ...s.agent, settings: event.settings, locked: event.locked, paused: event.paused } } : {}))
        return
      case 'notice':
        notify(event.level, event.message)
        return
    }
  }

  async function refreshHistory(): Promise<void> {
    try {
      store.setState({ history: await client.history() })
    } catch (err) {
      notify('error', `Could not load the history: ${(err as Error).message}`)
    }
  }

  return {
    store,
    client,
    speed,
    apply,
    refreshHistory,
    start() {
      let live = true
      client
        .status()
        .then((status) => {
          if (live) applySnapshot(status)
        })
        .catch((err: unknown) => {
          store.setState({ connection: 'lost' })
          notify('error', `Shoal is not reachable: ${(err as Error).message}`)
        })
      const unsubscribe = client.subscribe((event) => {
        if (live) apply(event)
      })
      return () => {
        live = false
        unsubscribe()
      }
    },
    show(view, jobId) {
      store.setState(jobId === undefined ? { view } : { view, selectedJobId: jobId })
      if (view === 'history') void refreshHistory()
    },
    async run(label, action) {
      try {
        await action(client)
        return true
      } catch (err) {
        notify('error', `${label} failed: ${(err as Error).message}`)
        return false
      }
    },
    dismiss(id) {
      store.setState((s) => ({ notices: s.notices.filter((n) => n.id !== id) }))
    },
  }
}
