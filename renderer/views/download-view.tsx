// One download: progress, rate, ETA, the stacked speed chart, offload, peers and bytes per source.
import type { Job } from '../../shared/api-contract.ts'
import { formatBytes } from '../../shared/units.ts'
import { useController, useShoal } from '../controller-context.ts'
import { formatEta, formatPercent, formatRate } from '../display-format.ts'
import { isFinished, jobProgress, newestJob, totalRate } from '../job-selection.ts'
import { plainError } from '../plain-errors.ts'
import { SpeedChart } from './speed-chart.tsx'

const SOURCE_ROWS: { key: keyof Job['bytes']; label: string }[] = [
  { key: 'cdn', label: 'CDN' },
  { key: 'lan', label: 'LAN peers' },
  { key: 'wan', label: 'Internet peers' },
  { key: 'local', label: 'Reused from this machine' },
  { key: 'wasted', label: 'Discarded (duplicate or failed check)' },
]

function JobActions({ job }: { job: Job }) {
  const controller = useController()
  if (isFinished(job)) return null
  const act = (action: 'pause' | 'resume' | 'cancel') => void controller.run(action[0]!.toUpperCase() + action.slice(1), (c) => c.jobAction(job.id, action))
  return (
    <div className="actions">
      {job.state === 'paused' ? <button onClick={() => act('resume')}>Resume</button> : <button onClick={() => act('pause')}>Pause</button>}
      <button className="secondary" onClick={() => act('cancel')}>
        Cancel
      </button>
    </div>
  )
}

function JobDetail({ job }: { job: Job }) {
  const productName = useShoal((s) => s.agent?.products.find((p) => p.id === job.productId)?.name ?? job.productId)
  const progress = jobProgress(job)
  const downloaded = job.bytes.cdn + job.bytes.lan + job.bytes.wan
  return (
    <>
      <p className="job-title">
        {productName}: {job.kind} {job.fromVersion ? `${job.fromVersion} → ` : ''}
        {job.version ?? ''} <span className={`state state-${job.state}`}>{job.state}</span>
        {job.detail && <span className="detail"> ({job.detail})</span>}
      </p>
      {job.error && <p className="error-text">{plainError(job.error)}</p>}
      <div className="progress-line">
        <progress max={1} value={progress} aria-label="Download progress" />
        <output data-testid="progress-percent">{formatPercent(progress)}</output>
      </div>
      <dl className="figures">
        <div>
          <dt>Done</dt>
          <dd>
            {formatBytes(job.bytesDone)} of {formatBytes(job.bytesTotal)}
          </dd>
        </div>
        <div>
          <dt>Speed</dt>
          <dd data-testid="rate" data-bytes-per-second={Math.round(totalRate(job))}>
            {formatRate(totalRate(job))}
          </dd>
        </div>
        <div>
          <dt>Time left</dt>
          <dd>{job.state === 'running' ? formatEta(job.etaSeconds) : '—'}</dd>
        </div>
        <div>
          <dt>Carried by peers</dt>
          <dd data-testid="offload">{formatPercent(job.offload)}</dd>
        </div>
        <div>
          <dt>Peers</dt>
          <dd>
            {job.peers.lan} on the LAN, {job.peers.wan} on the internet
          </dd>
        </div>
      </dl>
      <SpeedChart jobId={job.id} />
      <table className="sources">
        <caption>Bytes by source</caption>
        <thead>
          <tr>
            <th scope="col">Source</th>
            <th scope="col">Bytes</th>
            <th scope="col">Share of downloaded</th>
          </tr>
        </thead>
        <tbody>
          {SOURCE_ROWS.map(({ key, label }) => (
            <tr key={key} data-source={key}>
              <th scope="row">{label}</th>
              <td>{formatBytes(job.bytes[key])}</td>
              <td>{key === 'cdn' || key === 'lan' || key === 'wan' ? formatPercent(downloaded ? job.bytes[key] / downloaded : 0) : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <JobActions job={job} />
    </>
  )
}

export function DownloadView() {
  const controller = useController()
  const job = useShoal((s) => (s.selectedJobId ? (s.jobs[s.selectedJobId] ?? null) : newestJob(s.jobs)))
  const jobIds = useShoal((s) => Object.keys(s.jobs).join('\n'))
  const jobs = controller.store.getState().jobs
  return (
    <section aria-labelledby="view-title">
      <h2 id="view-title" tabIndex={-1}>
        Download
      </h2>
      {jobIds.includes('\n') && (
        <label className="job-picker">
          Download
          <select value={job?.id ?? ''} onChange={(e) => controller.show('download', e.target.value)}>
            {jobIds.split('\n').map((id) => (
              <option key={id} value={id}>
                {jobs[id]?.productId} {jobs[id]?.kind} {jobs[id]?.version ?? ''} ({jobs[id]?.state})
              </option>
            ))}
          </select>
        </label>
      )}
      {job ? <JobDetail job={job} /> : <p>Nothing is downloading. Start an install or update from the Library.</p>}
    </section>
  )
}
