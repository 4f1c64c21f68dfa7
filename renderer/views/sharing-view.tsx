// Uploading to other players, explained before it starts; off / LAN / LAN + internet and a monthly cap.
import { useEffect, useRef, useState, type FormEvent } from 'react'
import type { Settings } from '../../shared/api-contract.ts'
import { useController, useShoal } from '../controller-context.ts'
import { gigabytesToInput, inputToGigabytes } from '../display-format.ts'
import { lockReason, LockNote } from '../policy-lock.tsx'
import type { AgentState } from '../shoal-store.ts'

type SharingMode = Settings['sharing']['mode']

const MODE_WORDS: Record<SharingMode, string> = {
  off: 'Don’t share',
  lan: 'Share with computers on my local network',
  'lan+wan': 'Share with my local network and the internet',
}

function Explanation() {
  return (
    <div className="explanation">
      <p>
        Shoal can pass the pieces of games and updates you already have to other computers that need them. They then download less from the
        publisher’s servers, and you get your own updates faster when others share with you.
      </p>
      <ul>
        <li>Only pieces of products you installed are shared, and each piece is checked before it is sent. Nothing else on your computer is.</li>
        <li>
          Pieces go only to computers running Shoal that the publisher has let into the same release, over an encrypted connection. Other
          programs, and computers without the publisher’s permission, get nothing.
        </li>
        <li>Other computers see your IP address while they download from you.</li>
        <li>Sharing uses some of your upload bandwidth. You can limit it, or share only with your local network (home or office).</li>
        <li>You can change this at any time in Sharing.</li>
      </ul>
    </div>
  )
}

/** The first-run question, shown over everything until it is answered. */
export function ConsentDialog() {
  const controller = useController()
  const agent = useShoal((s) => s.agent)
  const first = useRef<HTMLButtonElement>(null)
  useEffect(() => first.current?.focus(), [])
  if (!agent) return null
  const modeLock = lockReason(agent, 'sharing.mode')
  const answer = (mode: SharingMode) =>
    void controller.run('Saving your choice', (c) => c.patchSettings({ sharing: modeLock ? { consentGiven: true } : { consentGiven: true, mode } }))
  return (
    <div className="backdrop">
      <div role="dialog" aria-modal="true" aria-labelledby="consent-title" className="dialog">
        <h2 id="consent-title">Share updates with other computers?</h2>
        <Explanation />
        {modeLock ? (
          <>
            <p>Your organisation chose: {MODE_WORDS[agent.settings.sharing.mode]}.</p>
            <LockNote id="consent-lock" reason={modeLock} />
            <button ref={first} onClick={() => answer(agent.settings.sharing.mode)}>
              OK
            </button>
          </>
        ) : (
          <div className="actions">
            <button ref={first} onClick={() => answer('lan')}>
              Share on my local network
            </button>
            <button onClick={() => answer('lan+wan')}>Share on my network and the internet</button>
            <button className="secondary" onClick={() => answer('off')}>
              Don’t share
            </button>
          </div>
        )}
      </div>
    </div>
  )
}

function UploadCapForm({ agent }: { agent: AgentState }) {
  const controller = useController()
  const reason = lockReason(agent, 'sharing.monthlyUploadCap')
  const [value, setValue] = useState(gigabytesToInput(agent.settings.sharing.monthlyUploadCap))
  const [problem, setProblem] = useState<string | null>(null)
  const submit = (event: FormEvent) => {
    event.preventDefault()
    const cap = inputToGigabytes(value)
    if (cap === undefined) return setProblem('The monthly cap is a positive number of GB, or empty for no cap.')
    setProblem(null)
    void controller.run('Saving the monthly cap', (c) => c.patchSettings({ sharing: { monthlyUploadCap: cap } }))
  }
  return (
    <form onSubmit={submit}>
      <div className="field">
        <label htmlFor="monthly-upload-cap">Monthly upload cap (GB, empty for no cap)</label>
        <input id="monthly-upload-cap" inputMode="decimal" value={value} disabled={reason !== null} aria-describedby={reason ? 'cap-lock' : undefined} onChange={(e) => setValue(e.target.value)} />
        <LockNote id="cap-lock" reason={reason} />
      </div>
      {problem && (
        <p role="alert" className="error-text">
          {problem}
        </p>
      )}
      <button type="submit" disabled={reason !== null}>
        Save cap
      </button>
    </form>
  )
}

function Toggle({ agent, path, label }: { agent: AgentState; path: 'uploadOnBattery' | 'uploadOnMetered'; label: string }) {
  const controller = useController()
  const reason = lockReason(agent, `sharing.${path}`)
  return (
    <div className="field">
      <label>
        <input
          type="checkbox"
          checked={agent.settings.sharing[path]}
          disabled={reason !== null}
          aria-describedby={reason ? `${path}-lock` : undefined}
          onChange={(e) => void controller.run('Saving', (c) => c.patchSettings({ sharing: { [path]: e.target.checked } }))}
        />
        {label}
      </label>
      <LockNote id={`${path}-lock`} reason={reason} />
    </div>
  )
}

export function SharingView() {
  const controller = useController()
  const agent = useShoal((s) => s.agent)
  if (!agent) return null
  const sharing = agent.settings.sharing
  const reason = lockReason(agent, 'sharing.mode')
  const set = (mode: SharingMode) => void controller.run('Saving the sharing choice', (c) => c.patchSettings({ sharing: { consentGiven: true, mode } }))
  return (
    <section aria-labelledby="view-title">
      <h2 id="view-title" tabIndex={-1}>
        Sharing
      </h2>
      <Explanation />
      <fieldset disabled={reason !== null} aria-describedby={reason ? 'mode-lock' : undefined}>
        <legend>Share with other computers</legend>
        {(['off', 'lan', 'lan+wan'] as const).map((mode) => (
          <label key={mode}>
            <input type="radio" name="sharing-mode" value={mode} checked={sharing.consentGiven && sharing.mode === mode} onChange={() => set(mode)} />
            {MODE_WORDS[mode]}
          </label>
        ))}
        <LockNote id="mode-lock" reason={reason} />
      </fieldset>
      <UploadCapForm key={String(sharing.monthlyUploadCap) + agent.locked.join()} agent={agent} />
      <Toggle agent={agent} path="uploadOnBattery" label="Share while on battery" />
      <Toggle agent={agent} path="uploadOnMetered" label="Share on metered connections (mobile hotspots)" />
    </section>
  )
}
