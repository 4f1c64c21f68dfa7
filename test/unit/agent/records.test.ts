import { describe, expect, it } from 'vitest'
import type { Job } from '../../../shared/api-contract.ts'
import type { ProductRow } from '../../../app/store/products-table.ts'
import { errorInfo, isOpen, newJob } from '../../../app/agent/job-record.ts'
import { managedProductRow, productIdFor, productView } from '../../../app/agent/product-record.ts'
import { isOwnApiAddress } from '../../../app/agent/own-address.ts'
import { ShoalError } from '../../../shared/errors.ts'

const row: ProductRow = { id: 'game', name: 'Game', channelUrl: 'http://127.0.0.1/game/channels/stable.json', publicKey: 'k', installDir: '/games/game', mirrors: [], availableVersion: '1.1.0', state: 'update-available', error: null, lastCheckAt: null }

describe('agent records', () => {
  it('names a product after its folder on the CDN, numbered when taken', () => {
    expect(productIdFor('http://127.0.0.1/game/channels/stable.json', new Set())).toEqual({ id: 'game', base: 'game' })
    expect(productIdFor('http://127.0.0.1/game/channels/beta.json', new Set(['game', 'game-2']))).toEqual({ id: 'game-3', base: 'game' })
    expect(productIdFor('http://127.0.0.1/pointer.json', new Set()).id).toBe('product')
  })

  it('shows a product as downloading or installing while its job runs or waits', () => {
    const job = (state: Job['state']) => ({ ...newJob('j', { productId: 'game', kind: 'update' }, row, '1.0.0', 'now'), state })
    expect(productView(row, '1.0.0', undefined, false).state).toBe('update-available')
    expect(productView(row, '1.0.0', job('running'), false).state).toBe('downloading')
    expect(productView(row, '1.0.0', job('waiting'), true)).toMatchObject({ state: 'installing', managed: true, installedVersion: '1.0.0' })
  })

  it('starts a job queued, at its mode priority, from the installed version to the available one', () => {
    const j = newJob('j', { productId: 'game', kind: 'update', mode: 'background' }, row, '1.0.0', 'now')
    expect(j).toMatchObject({ state: 'queued', priority: 0, fromVersion: '1.0.0', version: '1.1.0', createdAt: 'now' })
    expect(newJob('j', { productId: 'game', kind: 'verify' }, row, '1.0.0', 'now')).toMatchObject({ priority: 10, version: '1.0.0' })
    expect(isOpen(j)).toBe(true)
    expect(isOpen({ ...j, state: 'failed' })).toBe(false)
  })

  it('keeps what checks found for a product the policy lists', () => {
    const m = { id: 'game', channelUrl: row.channelUrl, publicKey: 'k', installDir: '/games/../games/game' }
    expect(managedProductRow(m, row)).toMatchObject({ name: 'game', installDir: '/games/game', availableVersion: '1.1.0', state: 'update-available' })
    expect(managedProductRow(m, undefined)).toMatchObject({ state: 'idle', availableVersion: null, mirrors: [] })
  })

  it('reads a Shoal error by its code, anything else as internal', () => {
    expect(errorInfo(new ShoalError('E_FETCH', 'no route'))).toEqual({ code: 'E_FETCH', message: 'no route' })
    expect(errorInfo(new Error('boom'))).toEqual({ code: 'E_INTERNAL', message: 'boom' })
  })
})

describe("the agent's own API address", () => {
  it('is any loopback name with the API port, however the address is spelled', () => {
    for (const host of ['127.0.0.1', 'localhost', '127.1', '2130706433', '0x7f000001', '[::1]', '[::ffff:127.0.0.1]', '0.0.0.0', 'app.localhost', '127.9.9.9']) {
      expect(isOwnApiAddress(`http://${host}:7341/api/status`, 7341), host).toBe(true)
    }
    expect(isOwnApiAddress('http://127.0.0.1/x', 80)).toBe(true)
    expect(isOwnApiAddress('https://localhost/x', 443)).toBe(true)
    expect(isOwnApiAddress('http://127.0.0.1:7342/x', 7341)).toBe(false)
    expect(isOwnApiAddress('http://cdn.example:7341/x', 7341)).toBe(false)
    expect(isOwnApiAddress('http://10.0.0.1:7341/x', 7341)).toBe(false)
  })
})
