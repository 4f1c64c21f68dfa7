// Pure: the order a job asks peers for its pieces. Each job starts at its own piece and wraps
// around. Leechers that all asked from the first piece held the same pieces at the same time
// and had little to trade: beside 8 of them, one seeder sent 7.7 of their 8 GiB.

/** Runs of consecutive pieces, as [first, last]: `needed` (ascending) from index `start` to its end, then from its beginning. */
export function peerPieceRuns(needed: readonly number[], start: number): [number, number][] {
  const at = needed.length === 0 ? 0 : ((Math.floor(start) % needed.length) + needed.length) % needed.length
  return [...runsOf(needed, at, needed.length), ...runsOf(needed, 0, at)]
}

function runsOf(pieces: readonly number[], from: number, to: number): [number, number][] {
  const runs: [number, number][] = []
  for (let i = from; i < to; ) {
    let j = i
    while (j + 1 < to && pieces[j + 1] === pieces[j]! + 1) j++
    runs.push([pieces[i]!, pieces[j]!])
    i = j + 1
  }
  return runs
}
