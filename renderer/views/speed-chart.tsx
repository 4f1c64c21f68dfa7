// Speed over time stacked by source class, drawn by uPlot on its own 1 s clock: events only
// write samples, so a burst of events never turns into a burst of redraws.
import { useEffect, useRef, useState } from 'react'
import uPlot from 'uplot'
import { useController } from '../controller-context.ts'
import { formatRate } from '../display-format.ts'
import { SOURCE_CLASSES, type SourceClass, type SpeedSeries } from '../speed-history.ts'

export const CLASS_COLORS: Record<SourceClass, string> = { cdn: '#2f6fdb', lan: '#1f9d55', wan: '#d97706' }
const CLASS_LABELS: Record<SourceClass, string> = { cdn: 'CDN', lan: 'LAN peers', wan: 'Internet peers' }
// Drawn top of the stack first, so each lower band paints over the one above it.
const DRAW_ORDER: SourceClass[] = ['wan', 'lan', 'cdn']
const REDRAW_MS = 1000

function stacked(series: SpeedSeries): uPlot.AlignedData {
  const n = series.t.length
  const layers = DRAW_ORDER.map((top) => {
    const below = SOURCE_CLASSES.slice(0, SOURCE_CLASSES.indexOf(top) + 1)
    return Array.from({ length: n }, (_, i) => below.reduce((sum, c) => sum + series[c][i]!, 0))
  })
  return [series.t, ...layers]
}

export function SpeedChart({ jobId }: { jobId: string }) {
  const controller = useController()
  const host = useRef<HTMLDivElement>(null)
  const [classes, setClasses] = useState<SourceClass[]>([])

  useEffect(() => {
    const el = host.current
    if (!el) return
    const history = controller.speed(jobId)
    let raw = history.series()
    const plot = new uPlot(
      {
        width: Math.max(300, el.clientWidth),
        height: 220,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(max, 1)] } },
        axes: [{}, { values: (_u, ticks) => ticks.map((v) => formatRate(v)), size: 80 }],
        series: [
          {},
          ...DRAW_ORDER.map((c) => ({
            label: CLASS_LABELS[c],
            stroke: CLASS_COLORS[c],
            fill: CLASS_COLORS[c],
            width: 1,
            points: { show: false },
            value: (_u: uPlot, _v: number | null, _s: number, idx: number | null) => (idx === null ? '—' : formatRate(raw[c][idx] ?? 0)),
          })),
        ],
      },
      stacked(raw),
      el,
    )
    let drawn = history.version
    const tick = () => {
      if (history.version === drawn) return
      drawn = history.version
      raw = history.series()
      plot.setData(stacked(raw))
      const seen = history.classesSeen()
      setClasses((prev) => (prev.join() === seen.join() ? prev : seen))
    }
    setClasses(history.classesSeen())
    const timer = setInterval(tick, REDRAW_MS)
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(300, el.clientWidth), height: 220 }))
    resize.observe(el)
    return () => {
      clearInterval(timer)
      resize.disconnect()
      plot.destroy()
    }
  }, [controller, jobId])

  const described = classes.length ? classes.map((c) => CLASS_LABELS[c]).join(', ') : 'no data yet'
  return (
    <figure className="speed-chart">
      <div ref={host} data-testid="speed-chart" data-classes={classes.join(' ')} role="img" aria-label={`Download speed over time, stacked by source: ${described}`} />
      <figcaption>Download speed by source, most recent samples</figcaption>
    </figure>
  )
}
