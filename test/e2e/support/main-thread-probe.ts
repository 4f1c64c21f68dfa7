// Installed in the page before its scripts run: records long tasks (the browser reports every
// main-thread task over 50 ms) and, to know the longest task even below 50 ms, the longest gap
// between turns of a 0 ms timer chain (a task's length plus the timer's own ~4 ms clamp).
export const MAIN_THREAD_PROBE = `
(() => {
  const probe = { longTasks: [], longestGap: 0, recording: false }
  window.__probe = probe
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (probe.recording) probe.longTasks.push(Math.round(e.duration))
  }).observe({ type: 'longtask', buffered: false })
  let last = performance.now()
  const tick = () => {
    const now = performance.now()
    if (probe.recording) probe.longestGap = Math.max(probe.longestGap, now - last)
    last = now
    setTimeout(tick, 0)
  }
  setTimeout(tick, 0)
})()
`

export interface ProbeResult {
  readonly longTasks: number[]
  readonly longestGap: number
}
