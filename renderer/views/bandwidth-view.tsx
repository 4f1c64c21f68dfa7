// Caps down and up, the weekly schedule, and how background updates download.
import { useState, type FormEvent } from 'react'
import type { ScheduleRule, Settings } from '../../shared/api-contract.ts'
import { useController, useShoal } from '../controller-context.ts'
import { capToInput, formatRate, inputToCap } from '../display-format.ts'
import { lockReason, LockNote } from '../policy-lock.tsx'
import type { AgentState } from '../shoal-store.ts'

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']

interface CapFieldProps {
  readonly agent: AgentState
  readonly path: string
  readonly label: string
  readonly value: string
  readonly onChange: (value: string) => void
}

function CapField({ agent, path, label, value, onChange }: CapFieldProps) {
  const reason = lockReason(agent, path)
  const id = path.replaceAll('.', '-')
  return (
    <div className="field">
      <label htmlFor={id}>{label} (MB/s, empty for no limit)</label>
      <input id={id} inputMode="decimal" value={value} disabled={reason !== null} aria-describedby={reason ? `${id}-lock` : undefined} onChange={(e) => onChange(e.target.value)} />
      <LockNote id={`${id}-lock`} reason={reason} />
    </div>
  )
}

function CapsForm({ agent }: { agent: AgentState }) {
  const controller = useController()
  const caps = agent.settings.caps
  const [down, setDown] = useState(capToInput(caps.down.global))
  const [cdn, setCdn] = useState(capToInput(caps.down.cdn))
  const [up, setUp] = useState(capToInput(caps.up.global))
  const [problem, setProblem] = useState<string | null>(null)
  const submit = (event: FormEvent) => {
    event.preventDefault()
    const values = { down: inputToCap(down), cdn: inputToCap(cdn), up: inputToCap(up) }
    if (Object.values(values).some((v) => v === undefined)) return setProblem('Each limit is a positive number of MB/s, or empty for no limit.')
    setProblem(null)
    const patch: { down?: { global?: number | null; cdn?: number | null }; up?: { global?: number | null } } = {}
    if (!lockReason(agent, 'caps.down.global')) patch.down = { global: values.down! }
    if (!lockReason(agent, 'caps.down.cdn')) patch.down = { ...patch.down, cdn: values.cdn! }
    if (!lockReason(agent, 'caps.up.global')) patch.up = { global: values.up! }
    void controller.run('Saving the limits', (c) => c.patchSettings({ caps: patch }))
  }
  return (
    <form onSubmit={submit} aria-labelledby="caps-title">
      <h3 id="caps-title">Limits</h3>
      <CapField agent={agent} path="caps.down.global" label="Download limit" value={down} onChange={setDown} />
      <CapField agent={agent} path="caps.down.cdn" label="Download limit from the CDN" value={cdn} onChange={setCdn} />
      <CapField agent={agent} path="caps.up.global" label="Upload limit" value={up} onChange={setUp} />
      {problem && (
        <p role="alert" className="error-text">
          {problem}
        </p>
      )}
      <button type="submit">Save limits</button>
      <p className="hint">
        In effect now: download {agent.effectiveCaps.down === null ? 'no limit' : formatRate(agent.effectiveCaps.down)}, upload{' '}
        {agent.effectiveCaps.up === null ? 'no limit' : formatRate(agent.effectiveCaps.up)}.
      </p>
    </form>
  )
}

function ModeForm({ agent }: { agent: AgentState }) {
  const controller = useController()
  const reason = lockReason(agent, 'updateMode')
  const set = (mode: Settings['updateMode']) => void controller.run('Saving the update mode', (c) => c.patchSettings({ updateMode: mode }))
  return (
    <fieldset disabled={reason !== null} aria-describedby={reason ? 'mode-lock' : undefined}>
      <legend>Updates found in the background</legend>
      <label>
        <input type="radio" name="update-mode" checked={agent.settings.updateMode === 'background'} onChange={() => set('background')} />
        Background: download gently, leaving room for other traffic
      </label>
      <label>
        <input type="radio" name="update-mode" checked={agent.settings.updateMode === 'foreground'} onChange={() => set('foreground')} />
        Foreground: download as fast as the limits allow
      </label>
      <LockNote id="mode-lock" reason={reason} />
    </fieldset>
  )
}

interface RuleDraft {
  days: number[]
  fromHour: number
  toHour: number
  down: string
  up: string
}

const toDraft = (r: ScheduleRule): RuleDraft => ({ days: r.days, fromHour: r.fromHour, toHour: r.toHour, down: capToInput(r.down), up: capToInput(r.up) })

function ScheduleForm({ agent }: { agent: AgentState }) {
  const controller = useController()
  const reason = lockReason(agent, 'schedule.rules')
  const [rules, setRules] = useState<RuleDraft[]>(agent.settings.schedule.rules.map(toDraft))
  const [problem, setProblem] = useState<string | null>(null)
  const update = (i: number, change: Partial<RuleDraft>) => setRules((rs) => rs.map((r, j) => (j === i ? { ...r, ...change } : r)))
  const submit = (event: FormEvent) => {
    event.preventDefault()
    const parsed: ScheduleRule[] = []
    for (const [i, r] of rules.entries()) {
      const down = inputToCap(r.down)
      const up = inputToCap(r.up)
      if (down === undefined || up === undefined) return setProblem(`Rule ${i + 1}: limits are positive MB/s or empty.`)
      if (r.days.length === 0) return setProblem(`Rule ${i + 1}: pick at least one day.`)
      if (r.toHour <= r.fromHour) return setProblem(`Rule ${i + 1}: the end hour must come after the start hour.`)
      parsed.push({ days: [...r.days].sort(), fromHour: r.fromHour, toHour: r.toHour, down, up })
    }
    setProblem(null)
    void controller.run('Saving the schedule', (c) => c.patchSettings({ schedule: { rules: parsed } }))
  }
  return (
    <form onSubmit={submit} aria-labelledby="schedule-title">
      <h3 id="schedule-title">Schedule</h3>
      <p className="hint">
        Limits that apply at certain hours, in {agent.settings.schedule.timeZone} time. Outside every rule, the limits above apply.
      </p>
      <fieldset disabled={reason !== null} className="plain" aria-describedby={reason ? 'schedule-lock' : undefined}>
        {rules.length === 0 && <p>No rules.</p>}
        {rules.map((r, i) => (
          <fieldset key={i} className="rule">
            <legend>Rule {i + 1}</legend>
            <div className="days" role="group" aria-label={`Rule ${i + 1} days`}>
              {DAYS.map((d, day) => (
                <label key={d}>
                  <input
                    type="checkbox"
                    checked={r.days.includes(day)}
                    onChange={(e) => update(i, { days: e.target.checked ? [...r.days, day] : r.days.filter((x) => x !== day) })}
                  />
                  {d}
                </label>
              ))}
            </div>
            <label>
              From
              <select value={r.fromHour} onChange={(e) => update(i, { fromHour: Number(e.target.value) })}>
                {Array.from({ length: 24 }, (_, h) => (
                  <option key={h} value={h}>
                    {String(h).padStart(2, '0')}:00
                  </option>
                ))}
              </select>
            </label>
            <label>
              To
              <select value={r.toHour} onChange={(e) => update(i, { toHour: Number(e.target.value) })}>
                {Array.from({ length: 24 }, (_, h) => (
                  <option key={h + 1} value={h + 1}>
                    {String(h + 1).padStart(2, '0')}:00
                  </option>
                ))}
              </select>
            </label>
            <label>
              Download MB/s
              <input inputMode="decimal" value={r.down} onChange={(e) => update(i, { down: e.target.value })} />
            </label>
            <label>
              Upload MB/s
              <input inputMode="decimal" value={r.up} onChange={(e) => update(i, { up: e.target.value })} />
            </label>
            <button type="button" className="secondary" onClick={() => setRules((rs) => rs.filter((_, j) => j !== i))}>
              Remove rule {i + 1}
            </button>
          </fieldset>
        ))}
        <button type="button" className="secondary" onClick={() => setRules((rs) => [...rs, { days: [1, 2, 3, 4, 5], fromHour: 9, toHour: 17, down: '', up: '' }])}>
          Add rule
        </button>
        <button type="submit">Save schedule</button>
      </fieldset>
      <LockNote id="schedule-lock" reason={reason} />
      {problem && (
        <p role="alert" className="error-text">
          {problem}
        </p>
      )}
    </form>
  )
}

export function BandwidthView() {
  const agent = useShoal((s) => s.agent)
  if (!agent) return null
  const s = agent.settings
  return (
    <section aria-labelledby="view-title">
      <h2 id="view-title" tabIndex={-1}>
        Bandwidth
      </h2>
      <CapsForm key={JSON.stringify([s.caps, agent.locked])} agent={agent} />
      <ModeForm agent={agent} />
      <ScheduleForm key={JSON.stringify([s.schedule.rules, agent.locked])} agent={agent} />
    </section>
  )
}
