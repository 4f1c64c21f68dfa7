// The run's chart: CDN egress and clients in the swarm over time, drawn by Vega-Lite and
// rendered to SVG by Vega (headless, no canvas needed for SVG).
import { parse, View } from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'
import type { TimelinePoint } from './simulator.ts'

export async function timelineSvg(title: string, timeline: readonly TimelinePoint[], cdnOnly: readonly TimelinePoint[]): Promise<string> {
  const values = [
    ...timeline.map((p) => ({ minutes: p.t / 60, series: 'CDN egress, Shoal', gbit: (p.cdnRate * 8) / 1e9 })),
    ...cdnOnly.map((p) => ({ minutes: p.t / 60, series: 'CDN egress, CDN only', gbit: (p.cdnRate * 8) / 1e9 })),
  ]
  const peers = timeline.map((p) => ({ minutes: p.t / 60, peers: p.peers, downloading: p.downloading }))
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 720,
    height: 320,
    layer: [
      {
        data: { values },
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x: { field: 'minutes', type: 'quantitative', title: 'minutes' },
          y: { field: 'gbit', type: 'quantitative', title: 'CDN egress, Gbit/s' },
          color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'top' } },
        },
      },
      {
        data: { values: peers },
        mark: { type: 'line', strokeDash: [4, 3], color: '#555' },
        encoding: {
          x: { field: 'minutes', type: 'quantitative' },
          y: { field: 'peers', type: 'quantitative', title: 'clients in the swarm (dashed)', axis: { orient: 'right' } },
        },
      },
    ],
    resolve: { scale: { y: 'independent' } },
  }
  const view = new View(parse(compile(spec).spec), { renderer: 'none' })
  const svg = await view.toSVG()
  view.finalize()
  return svg
}
