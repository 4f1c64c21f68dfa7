import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createPrivateKey } from 'node:crypto'
import { ShoalError } from '../../../shared/errors.ts'
import { generateKeyPair, keyId } from '../../release/signing.ts'
import type { Output } from '../output.ts'

export async function keygenCommand(out: Output, dir: string, name = 'publisher'): Promise<void> {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(name)) throw new ShoalError('E_USAGE', `--name ${name} is not a key name`, 'use lowercase letters, digits and dashes, e.g. admission')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const keyPath = join(dir, `${name}.key`)
  const pubPath = join(dir, `${name}.pub`)
  const pair = generateKeyPair()
  const refuse = (err: NodeJS.ErrnoException): never => {
    if (err.code === 'EEXIST') throw new ShoalError('E_EXISTS', `${err.path ?? dir} already exists`, 'a key is never overwritten; choose another --out folder or --name')
    throw new ShoalError('E_IO', `cannot write ${err.path ?? dir}: ${err.code ?? err.message}`)
  }
  // O_EXCL on both; if the public key is refused, the private key just written goes too.
  await writeFile(keyPath, pair.privatePem, { flag: 'wx', mode: 0o600 }).catch(refuse)
  await writeFile(pubPath, pair.publicPem, { flag: 'wx', mode: 0o644 }).catch(async (err: NodeJS.ErrnoException) => {
    await rm(keyPath, { force: true })
    refuse(err)
  })
  const id = keyId(createPrivateKey(pair.privatePem))
  out.result({ keyId: id, privateKey: keyPath, publicKey: pubPath }, () => `key ${id}\n  private: ${keyPath} (mode 600, keep it secret)\n  public:  ${pubPath} (give this to clients)`)
}
