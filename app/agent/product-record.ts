// A product as the agent records and shows it.
import { resolve } from 'node:path'
import type { Job, Product } from '../../shared/api-contract.ts'
import type { ManagedProduct } from '../policy/managed-policy.ts'
import type { ProductRow } from '../store/products-table.ts'

/** The API's view of a product: its row, what its folder holds, and what its running job is doing. */
export function productView(p: ProductRow, installedVersion: string | null, job: Job | undefined, managed: boolean): Product {
  const state = job?.state === 'waiting' ? 'installing' : job?.state === 'running' ? 'downloading' : p.state
  return {
    id: p.id,
    name: p.name,
    channelUrl: p.channelUrl,
    publicKey: p.publicKey,
    installDir: p.installDir,
    installedVersion,
    availableVersion: p.availableVersion,
    state,
    error: p.error,
    lastCheckAt: p.lastCheckAt,
    managed,
  }
}

/** The row of a product the managed policy lists; what checks found so far (`current`) is kept. */
export function managedProductRow(m: ManagedProduct, current: ProductRow | undefined): ProductRow {
  return {
    id: m.id,
    name: m.name ?? m.id,
    channelUrl: m.channelUrl,
    publicKey: m.publicKey,
    installDir: resolve(m.installDir),
    mirrors: m.mirrors ?? [],
    availableVersion: current?.availableVersion ?? null,
    state: current?.state ?? 'idle',
    error: current?.error ?? null,
    lastCheckAt: current?.lastCheckAt ?? null,
  }
}

/** An id for a product on `channelUrl`: its folder's name on the CDN, numbered when `taken` has it. */
export function productIdFor(channelUrl: string, taken: ReadonlySet<string>): { readonly id: string; readonly base: string } {
  const base = /\/([^/]+)\/channels\/[^/]+$/.exec(new URL(channelUrl).pathname)?.[1] ?? 'product'
  let id = base
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`
  return { id, base }
}
