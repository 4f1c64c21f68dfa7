// The machine-wide policy an administrator (or an MSI/pkg install) writes: products with
// their channels and keys, and any setting. Whatever it sets is locked for the user.
// An invalid file never stops the agent: it runs on safe defaults and says why.
import * as v from 'valibot'
import { fetchUrlSchema, settingsPatchSchema, type SettingsPatch } from '../../shared/api-contract.ts'
import { plainObject } from '../../shared/schema-rules.ts'
import { patchPaths } from './settings-merge.ts'

export const managedProductSchema = v.strictObject({
  /** Stable id for the product; the user cannot remove it. */
  id: v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9._-]{0,63}$/)),
  name: v.optional(v.pipe(v.string(), v.minLength(1))),
  channelUrl: fetchUrlSchema,
  /** base64 of the raw 32-byte ed25519 key, or its SPKI PEM. */
  publicKey: v.pipe(v.string(), v.minLength(1)),
  installDir: v.pipe(v.string(), v.minLength(1)),
  mirrors: v.optional(v.array(fetchUrlSchema)),
})
export type ManagedProduct = v.InferOutput<typeof managedProductSchema>

export const managedPolicySchema = plainObject(
  v.strictObject({
    products: v.optional(v.array(managedProductSchema)),
    settings: v.optional(settingsPatchSchema),
    /**
     * The organisation's tracker token: sent with announces, and the enrollment credential the
     * control service wants before it issues peer passes for private and lan releases.
     */
    trackerToken: v.optional(v.pipe(v.string(), v.minLength(16), v.maxLength(512))),
  }),
)

export interface ManagedPolicy {
  readonly products: readonly ManagedProduct[]
  readonly settings: SettingsPatch
  readonly trackerToken?: string
  /** Dotted setting paths the policy fixes, plus "products.<id>" for each managed product. */
  readonly locked: readonly string[]
}

export const NO_POLICY: ManagedPolicy = { products: [], settings: {}, locked: [] }

/**
 * When the policy file is invalid, uploading is the one thing that must not happen by
 * accident (a locked "sharing off" may be what failed to parse): sharing is forced off.
 */
export const INVALID_POLICY_SETTINGS: SettingsPatch = { sharing: { mode: 'off' } }

export type PolicyParse = { readonly ok: true; readonly policy: ManagedPolicy } | { readonly ok: false; readonly error: string }

/** Where the machine-wide policy lives on each OS. */
export function defaultPolicyPath(platform: string, env: Readonly<Record<string, string | undefined>>): string {
  if (platform === 'win32') return `${env['ProgramData'] ?? 'C:\\ProgramData'}\\Shoal\\policy.json`
  if (platform === 'darwin') return '/Library/Application Support/Shoal/policy.json'
  return '/etc/shoal/policy.json'
}

export function parsePolicy(text: string): PolicyParse {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` }
  }
  const parsed = v.safeParse(managedPolicySchema, json)
  if (!parsed.success) return { ok: false, error: parsed.issues.map((i) => `${v.getDotPath(i) || '(top)'}: ${i.message}`).join('; ') }
  const products = parsed.output.products ?? []
  const ids = new Set<string>()
  for (const p of products) {
    if (ids.has(p.id)) return { ok: false, error: `products: id "${p.id}" appears twice` }
    ids.add(p.id)
  }
  const settings = parsed.output.settings ?? {}
  const token = parsed.output.trackerToken !== undefined ? { trackerToken: parsed.output.trackerToken } : {}
  return { ok: true, policy: { products, settings, ...token, locked: [...patchPaths(settings), ...products.map((p) => `products.${p.id}`)] } }
}
