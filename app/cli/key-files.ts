import { readFile } from 'node:fs/promises'
import type { KeyObject } from 'node:crypto'
import { ShoalError } from '../../shared/errors.ts'
import { parseKey } from '../release/signing.ts'

async function readKeyFile(path: string, flag: string): Promise<string> {
  return readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ShoalError('E_KEY', `cannot read ${flag} ${path}: ${err.code ?? err.message}`)
  })
}

export async function loadPrivateKey(path: string, flag = '--key'): Promise<KeyObject> {
  return parseKey(await readKeyFile(path, flag), 'private', path)
}

export async function loadPublicKey(path: string, flag = '--pubkey'): Promise<KeyObject> {
  return parseKey(await readKeyFile(path, flag), 'public', path)
}

/** A public key file, or a private one whose public half is meant (an operator passing its own .key). */
export async function loadEitherKey(path: string, flag: string): Promise<KeyObject> {
  const pem = await readKeyFile(path, flag)
  return parseKey(pem, pem.includes('PRIVATE KEY') ? 'private' : 'public', path)
}
