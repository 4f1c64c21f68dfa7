import { readFile } from 'node:fs/promises'
import type { KeyObject } from 'node:crypto'
import { ShoalError } from '../../shared/errors.ts'
import { parseKey } from '../release/signing.ts'

async function readKeyFile(path: string, flag: string): Promise<string> {
  return readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ShoalError('E_KEY', `cannot read ${flag} ${path}: ${err.code ?? err.message}`)
  })
}

export async function loadPrivateKey(path: string): Promise<KeyObject> {
  return parseKey(await readKeyFile(path, '--key'), 'private', path)
}

export async function loadPublicKey(path: string): Promise<KeyObject> {
  return parseKey(await readKeyFile(path, '--pubkey'), 'public', path)
}
