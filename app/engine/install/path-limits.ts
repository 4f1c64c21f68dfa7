// Pure: whether a release's paths fit the file system once they sit under the install's folders.
// The manifest check knows only the paths; the prefix is known at planning time, before anything
// is staged (a 4,095-character path passed the manifest and failed after the download).

export interface PathLimits {
  /** Longest whole path, in `measure` units. */
  readonly full: number
  /** Longest single name. */
  readonly segment: number
  readonly unit: string
  readonly measure: (s: string) => number
}

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8')

/**
 * Linux: PATH_MAX 4096 and NAME_MAX 255, in bytes with the NUL. macOS: 1024 and 255 bytes.
 * Windows: Node addresses files through `\\?\`, so 32,767 UTF-16 units less that prefix, and NTFS
 * names of 255 units.
 */
export function pathLimits(platform: NodeJS.Platform): PathLimits {
  if (platform === 'win32') return { full: 32_767 - 4, segment: 255, unit: 'UTF-16 units', measure: (s) => s.length }
  return { full: platform === 'darwin' ? 1023 : 4095, segment: 255, unit: 'bytes', measure: utf8 }
}

/** The first of `paths` that does not fit below `root` (the deepest folder it will be written under). */
export function pathTooLong(root: string, paths: readonly string[], limits: PathLimits): { path: string; reason: string } | undefined {
  const prefix = limits.measure(root) + 1
  for (const path of paths) {
    const full = prefix + limits.measure(path)
    if (full > limits.full) return { path, reason: `is ${full} ${limits.unit} long below ${root}, more than the ${limits.full} this system allows` }
    const long = path.split('/').find((s) => limits.measure(s) > limits.segment)
    if (long !== undefined) return { path, reason: `has a name of ${limits.measure(long)} ${limits.unit}, more than the ${limits.segment} this system allows` }
  }
  return undefined
}
