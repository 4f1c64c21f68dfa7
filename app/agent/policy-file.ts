// Reads the machine-wide policy file for the agent. A missing file is no policy; a file that
// cannot be read, does not parse, names an unknown time zone or carries a bad publisher key
// is reported, and the agent runs on safe defaults instead of crashing.
import { readFile } from 'node:fs/promises'
import { NO_POLICY, parsePolicy, type ManagedPolicy } from '../policy/managed-policy.ts'
import { isValidTimeZone } from '../policy/schedule.ts'
import { normalizePublicKey } from './publisher-key.ts'

export interface PolicyState {
  readonly loaded: boolean
  readonly error: string | null
  /** With each product's key normalized; NO_POLICY when the file is absent or invalid. */
  readonly value: ManagedPolicy
}

export async function readPolicyFile(path: string): Promise<PolicyState> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return { loaded: false, error: code === 'ENOENT' ? null : `cannot read ${path}: ${code}`, value: NO_POLICY }
  }
  const invalid = (why: string): PolicyState => ({ loaded: false, error: `invalid policy ${path}: ${why}; running on safe defaults (sharing off)`, value: NO_POLICY })
  const parsed = parsePolicy(text)
  if (!parsed.ok) return invalid(parsed.error)
  const tz = parsed.policy.settings.schedule?.timeZone
  if (tz !== undefined && !isValidTimeZone(tz)) return invalid(`unknown time zone ${tz}`)
  const products = []
  for (const m of parsed.policy.products) {
    try {
      products.push({ ...m, publicKey: normalizePublicKey(m.publicKey) })
    } catch (err) {
      return invalid(`product ${m.id}: ${(err as Error).message}`)
    }
  }
  return { loaded: true, error: null, value: { ...parsed.policy, products } }
}
