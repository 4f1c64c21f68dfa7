/** Bytes per source class: CDN bytes are as received (overfetch included); local bytes are reused raw bytes. */
export interface SourceBytes {
  cdn: number
  lan: number
  wan: number
  local: number
}

export function emptySourceBytes(): SourceBytes {
  return { cdn: 0, lan: 0, wan: 0, local: 0 }
}

/** (lan + wan) / (cdn + lan + wan): the share of downloaded bytes that peers carried. */
export function offloadRatio(b: SourceBytes): number {
  const downloaded = b.cdn + b.lan + b.wan
  return downloaded === 0 ? 0 : (b.lan + b.wan) / downloaded
}
