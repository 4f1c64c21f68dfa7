// Products with their installed and available versions, state and the actions that fit.
import { useState, type FormEvent } from 'react'
import type { Job, Product } from '../../shared/api-contract.ts'
import { useController, useShoal } from '../controller-context.ts'
import { formatPercent } from '../display-format.ts'
import { isFinished, jobForProduct, jobProgress } from '../job-selection.ts'
import { plainError } from '../plain-errors.ts'

const STATE_WORDS: Record<Product['state'], string> = {
  idle: 'Not installed',
  checking: 'Checking for updates…',
  'update-available': 'Update available',
  downloading: 'Downloading',
  installing: 'Installing',
  'up-to-date': 'Up to date',
  error: 'Problem',
}

function ProductRow({ product }: { product: Product }) {
  const controller = useController()
  const job = useShoal((s) => jobForProduct(s.jobs, product.id))
  const active = job && !isFinished(job) ? job : null
  const canInstall = product.installedVersion === null && !active
  const canUpdate = product.installedVersion !== null && product.availableVersion !== null && product.availableVersion !== product.installedVersion && !active
  const start = (kind: 'install' | 'update') =>
    void controller.run(kind === 'install' ? 'Install' : 'Update', async (c) => {
      const created = await c.createJob({ productId: product.id, kind, mode: 'foreground' })
      controller.show('download', created.id)
    })
  const act = (j: Job, action: 'pause' | 'resume') => void controller.run(action === 'pause' ? 'Pause' : 'Resume', (c) => c.jobAction(j.id, action))
  return (
    <tr data-product={product.id}>
      <th scope="row">{product.name}</th>
      <td>{product.installedVersion ?? '—'}</td>
      <td>{product.availableVersion ?? '—'}</td>
      <td>
        <span className={`state state-${product.state}`}>{active ? `${STATE_WORDS.downloading} ${formatPercent(jobProgress(active))}` : STATE_WORDS[product.state]}</span>
        {active && <progress max={1} value={jobProgress(active)} aria-label={`${product.name} progress`} />}
        {product.error && <p className="error-text">{plainError(product.error)}</p>}
        {job?.state === 'failed' && job.error && <p className="error-text">{plainError(job.error)}</p>}
      </td>
      <td>
        <div className="actions">
        {canInstall && <button onClick={() => start('install')}>Install</button>}
        {canUpdate && <button onClick={() => start('update')}>Update to {product.availableVersion}</button>}
        {active && active.state !== 'paused' && <button onClick={() => act(active, 'pause')}>Pause</button>}
        {active?.state === 'paused' && <button onClick={() => act(active, 'resume')}>Resume</button>}
        {!active && (
          <button className="secondary" onClick={() => void controller.run('Check for updates', (c) => c.checkProduct(product.id))}>
            Check for updates
          </button>
        )}
        {job && (
          <button className="secondary" onClick={() => controller.show('download', job.id)}>
            Details
          </button>
        )}
        </div>
      </td>
    </tr>
  )
}

function AddProductForm() {
  const controller = useController()
  const [channelUrl, setChannelUrl] = useState('')
  const [publicKey, setPublicKey] = useState('')
  const [installDir, setInstallDir] = useState('')
  const [name, setName] = useState('')
  const submit = (event: FormEvent) => {
    event.preventDefault()
    void controller
      .run('Adding the product', (c) => c.addProduct({ channelUrl, publicKey, installDir, ...(name ? { name } : {}) }))
      .then((ok) => {
        if (ok) for (const set of [setChannelUrl, setPublicKey, setInstallDir, setName]) set('')
      })
  }
  return (
    <details className="add-product">
      <summary>Add a product</summary>
      <form onSubmit={submit}>
        <label>
          Name (optional)
          <input value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Channel URL
          <input required type="url" value={channelUrl} onChange={(e) => setChannelUrl(e.target.value)} placeholder="https://cdn.example.com/game/channels/stable.json" />
        </label>
        <label>
          Publisher key (base64)
          <input required value={publicKey} onChange={(e) => setPublicKey(e.target.value)} />
        </label>
        <label>
          Install folder
          <input required value={installDir} onChange={(e) => setInstallDir(e.target.value)} />
        </label>
        <button type="submit">Add product</button>
      </form>
    </details>
  )
}

export function LibraryView() {
  const products = useShoal((s) => s.agent?.products)
  if (!products) return null
  return (
    <section aria-labelledby="view-title">
      <h2 id="view-title" tabIndex={-1}>
        Library
      </h2>
      {products.length === 0 ? (
        <p>No products yet. Add one with its channel URL and the publisher’s key.</p>
      ) : (
        <table className="library">
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col">Installed</th>
              <th scope="col">Available</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {products.map((p) => (
              <ProductRow key={p.id} product={p} />
            ))}
          </tbody>
        </table>
      )}
      <AddProductForm />
    </section>
  )
}
