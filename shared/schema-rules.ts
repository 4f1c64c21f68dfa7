// Rules the contracts kept from zod that valibot's own schemas do not apply: each accepts and
// returns what the zod schema did, so moving to valibot changed no contract.
import * as v from 'valibot'

/** Quoted input cut short: it may be megabytes of a hostile document (zod's messages quoted only unknown keys). */
const short = (received: string) => (received.length > 100 ? `${received.slice(0, 96)}…${received.at(-1)}` : received)
// Valibot's default messages end with the input they received.
v.setGlobalMessage((issue) => issue.message.slice(0, issue.message.length - issue.received.length) + short(issue.received))

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)
const jsonObject = v.custom<Record<string, unknown>>(isObject, (issue) => `Invalid type: Expected Object but received ${short(issue.received)}`)

/** An object schema that refuses arrays: valibot's takes one when none of its keys is required. */
export const plainObject = <T extends v.GenericSchema<Record<string, unknown>>>(schema: T) => v.pipe(jsonObject, schema)

/** Any string key holds a value; a record of named keys (a picklist) need not hold them all. */
type RecordOf<K extends string, V> = string extends K ? Record<K, V> : Partial<Record<K, V>>

/**
 * zod's record: every own key but "__proto__" checked and kept. Valibot's takes an array, and
 * skips "constructor" and "prototype" unchecked: valid product ids, and keys a picklist refuses.
 */
export const record = <K extends v.GenericSchema<string>, V extends v.GenericSchema>(key: K, value: V) =>
  v.pipe(
    jsonObject,
    v.rawTransform(({ dataset, addIssue }) => {
      const input = dataset.value
      const output: Partial<Record<string, v.InferOutput<V>>> = {}
      for (const [k, x] of Object.entries(input)) {
        if (k === '__proto__') continue
        const named = v.safeParse(key, k)
        const item = named.success ? v.safeParse(value, x) : named
        if (item.success) output[k] = item.output
        else for (const issue of item.issues) addIssue({ message: issue.message, path: [{ type: 'object', origin: named.success ? 'value' : 'key', input, key: k, value: x }, ...(issue.path ?? [])] })
      }
      return output as RecordOf<v.InferOutput<K>, v.InferOutput<V>>
    }),
  )

/** A safe integer (zod's int()); outside [min, max] is a min_value or max_value issue, as any bound. */
export const int = (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max))

/** The URL parser skips tabs and newlines anywhere in a URL; zod's url() left them out of its output. */
const tabsAndNewlines = /[\t\n\r]/g
const withoutTabs = v.transform((s: string) => s.replace(tabsAndNewlines, ''))

/** zod's url(): any string the URL parser takes once trimmed. */
export const url = () => v.pipe(v.string(), v.trim(), v.url(), withoutTabs)

const parses = v.pipe(v.string(), v.url())

/** zod's url({ protocol: /^https?$/ }): starts with http:// or https:// (any case), and parses; one issue if not. */
export const httpUrl = (message: string) => v.pipe(v.string(message), v.trim(), v.check((s) => /^https?:\/\//i.test(s) && v.is(parses, s), message), withoutTabs)
