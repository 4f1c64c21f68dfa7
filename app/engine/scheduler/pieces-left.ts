// The pieces a job still needs, in ascending order, which the CDN scheduler reads on every
// decision. An arrived piece leaves the list on its own: rebuilding the list from every piece of
// the job on each decision cost 0.48 ms at 12,800 pieces (a 50 GiB release), 80 % of a decision.

/** Removes `piece` from `ascending` (sorted, no repeats); false when it is not there. */
export function removePiece(ascending: number[], piece: number): boolean {
  let lo = 0
  let hi = ascending.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (ascending[mid]! < piece) lo = mid + 1
    else hi = mid
  }
  if (ascending[lo] !== piece) return false
  ascending.splice(lo, 1)
  return true
}
