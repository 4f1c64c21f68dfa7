/**
 * Bytes per source class. CDN bytes are as received (merged-range overfetch included); lan
 * and wan are peer bytes that became part of the new version; local bytes are reused; wasted
 * are bytes received and thrown away (endgame duplicates, slices already placed, failed pieces).
 */
export interface SourceBytes {
  cdn: number
  lan: number
  wan: number
  local: number
  wasted: number
}

export function emptySourceBytes(): SourceBytes {
  return { cdn: 0, lan: 0, wan: 0, local: 0, wasted: 0 }
}

/** (lan + wan) / (cdn + lan + wan): the share of downloaded bytes that peers carried. */
export function offloadRatio(b: Pick<SourceBytes, 'cdn' | 'lan' | 'wan'>): number {
  const downloaded = b.cdn + b.lan + b.wan
  return downloaded === 0 ? 0 : (b.lan + b.wan) / downloaded
}
