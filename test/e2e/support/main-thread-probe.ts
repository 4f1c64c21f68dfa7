// Installed in the page before its scripts run: records the browser's long tasks (every
// main-thread task over 50 ms, wall time) and long animation frames with the scripts that ran
// in them, while `recording` is on.
export const MAIN_THREAD_PROBE = `
(() => {
  const probe = { longTasks: [], longFrames: [], recording: false }
  window.__probe = probe
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (probe.recording) probe.longTasks.push({ ms: Math.round(e.duration), at: Math.round(e.startTime) })
  }).observe({ type: 'longtask', buffered: false })
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (!probe.recording) continue
      const scripts = e.scripts.map((s) => ({ invoker: s.invoker, ms: Math.round(s.duration), source: s.sourceFunctionName || s.sourceURL.split('/').pop() }))
      probe.longFrames.push({ ms: Math.round(e.duration), scripts: scripts.slice(0, 3) })
    }
  }).observe({ type: 'long-animation-frame', buffered: false })
})()
`

export interface ProbeResult {
  /** Each long task: its duration and when it started (ms since the page loaded). */
  readonly longTasks: { ms: number; at: number }[]
  /** Animation frames over 50 ms with the scripts that ran in them (diagnostics). */
  readonly longFrames: { ms: number; scripts: { invoker: string; ms: number; source: string }[] }[]
}
