// Release paths come from publishers and end up as file names on Windows, macOS
// and Linux. A path is accepted only if it is safe on all three.

// Every device name Windows reserves, with any extension (NUL.tar.gz is NUL), including the
// superscript digits it counts as digits and the console names.
const WINDOWS_RESERVED = /^(con|prn|aux|nul|clock\$|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³]) *(\..*)?$/i
const MAX_PATH = 4096
const MAX_SEGMENT = 255

/** Why `path` is unsafe as a release-relative file path, or undefined when it is fine. */
export function unsafePathReason(path: string): string | undefined {
  if (path.length === 0) return 'empty path'
  if (path.length > MAX_PATH) return `longer than ${MAX_PATH} characters`
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c < 0x20 || c === 0x7f) return 'contains a control character or NUL'
  }
  if (path.includes('\\')) return 'contains a backslash'
  if (path.startsWith('/')) return 'is absolute'
  if (/^[a-zA-Z]:/.test(path)) return 'starts with a drive letter'
  if (/[<>:"|?*]/.test(path)) return 'contains a character Windows forbids (<>:"|?*)'
  // ASCII is always NFC: only other paths go through ICU's normalizer, whose data cost 1.7 MiB of resident memory.
  if (!/^[\x20-\x7e]*$/.test(path) && path.normalize('NFC') !== path) return 'is not in Unicode NFC form'
  for (const segment of path.split('/')) {
    if (segment === '') return 'has an empty segment (// or a trailing /)'
    if (segment === '.' || segment === '..') return `has a "${segment}" segment`
    if (segment.length > MAX_SEGMENT) return `has a segment longer than ${MAX_SEGMENT} characters`
    if (/[. ]$/.test(segment)) return 'has a segment ending in a dot or space'
    if (WINDOWS_RESERVED.test(segment)) return `uses the reserved Windows name "${segment}"`
  }
  return undefined
}

/**
 * The name case-insensitive file systems see: Unicode case folding, approximated as upper case
 * then lower case, so that ſ and s, ı and i, ǅ and ǆ, ß and ss fold together as they do
 * on Windows or macOS (lower case alone leaves ſ and ı as they are).
 */
export function foldCase(path: string): string {
  if (/^[\x20-\x7e]*$/.test(path)) return path.toLowerCase()
  return path.toUpperCase().toLowerCase().normalize('NFC')
}

/** The first problem in a list of paths: an unsafe one, a case-insensitive duplicate, or a file used as a folder. */
export function pathSetProblem(paths: readonly string[]): { path: string; reason: string } | undefined {
  const seen = new Map<string, string>()
  for (const path of paths) {
    const reason = unsafePathReason(path)
    if (reason) return { path, reason }
    const key = foldCase(path)
    const twin = seen.get(key)
    if (twin !== undefined) return { path, reason: `collides with "${twin}" on case-insensitive file systems` }
    seen.set(key, path)
  }
  for (const path of paths) {
    const parts = foldCase(path).split('/')
    for (let i = 1; i < parts.length; i++) {
      const parent = seen.get(parts.slice(0, i).join('/'))
      if (parent !== undefined) return { path, reason: `needs "${parent}" to be a folder, but it is a file` }
    }
  }
  return undefined
}
