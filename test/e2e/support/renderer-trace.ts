// The renderer main thread's tasks from a Chromium trace: wall time and thread (CPU) time of
// every task, so the longest task is known even below the 50 ms long-task threshold, and time
// the OS took away on a busy machine can be told from work the page did.
import type { Browser, Page } from 'playwright-core'

interface TraceEvent {
  readonly name: string
  readonly ph: string
  readonly pid: number
  readonly tid: number
  readonly dur?: number
  readonly tdur?: number
  readonly args?: { name?: string }
}

export interface MainThreadTasks {
  readonly count: number
  readonly longestWallMs: number
  readonly longestCpuMs: number
}

export async function traceMainThread(browser: Browser, page: Page, during: () => Promise<void>): Promise<MainThreadTasks> {
  await browser.startTracing(page, { categories: ['toplevel', 'disabled-by-default-devtools.timeline'] })
  let failure: unknown = null
  await during().catch((err: unknown) => (failure = err))
  const trace = JSON.parse((await browser.stopTracing()).toString('utf8')) as { traceEvents: TraceEvent[] }
  if (failure) throw failure
  const events = trace.traceEvents
  const mains = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`))
  const tasks = events.filter((e) => e.ph === 'X' && (e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask') && mains.has(`${e.pid}:${e.tid}`))
  return {
    count: tasks.length,
    longestWallMs: Math.max(0, ...tasks.map((t) => (t.dur ?? 0) / 1000)),
    longestCpuMs: Math.max(0, ...tasks.map((t) => (t.tdur ?? 0) / 1000)),
  }
}
