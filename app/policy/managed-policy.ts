// The machine-wide policy an administrator (or an MSI/pkg install) writes: products with
// their channels and keys, and any setting. Whatever it sets is locked for the user.
// An invalid file never stops the agent: it runs on safe defaults and says why.
import { z } from 'zod'
import { fetchUrlSchema, settingsPatchSchema, type SettingsPatch } from '../../shared/api-contract.ts'
import { patchPaths } from './settings-merge.ts'

export const managedProductSchema = z
  .object({
    /** Stable id for the product; the user cannot remove it. */
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
    name: z.string().min(1).optional(),
    channelUrl: fetchUrlSchema,
    /** base64 of the raw 32-byte ed25519 key, or its SPKI PEM. */
    publicKey: z.string().min(1),
    installDir: z.string().min(1),
    mirrors: z.array(fetchUrlSchema).optional(),
  })
  .strict()
export type ManagedProduct = z.infer<typeof managedProductSchema>

export const managedPolicySchema = z
  .object({
    products: z.array(managedProductSchema).optional(),
    settings: settingsPatchSchema.optional(),
    /**
     * The organisation's tracker token: sent with announces, and the enrollment credential the
     * control service wants before it issues peer passes for private and lan releases.
     */
    trackerToken: z.string().min(16).max(512).optional(),
  })
  .strict()

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
  const parsed = managedPolicySchema.safeParse(json)
  if (!parsed.success) return { ok: false, error: parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ') }
  const products = parsed.data.products ?? []
  const ids = new Set<string>()
  for (const p of products) {
    if (ids.has(p.id)) return { ok: false, error: `products: id "${p.id}" appears twice` }
    ids.add(p.id)
  }
  const settings = parsed.data.settings ?? {}
  const token = parsed.data.trackerToken !== undefined ? { trackerToken: parsed.data.trackerToken } : {}
  return { ok: true, policy: { products, settings, ...token, locked: [...patchPaths(settings), ...products.map((p) => `products.${p.id}`)] } }
}
