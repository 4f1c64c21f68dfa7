// What a fetch session sees of each place bytes come from. Every source delivers through the
// same placement pipeline (bounded buffers -> placement workers that verify -> staged files) and
// reports what it placed; the session only decides which source takes which piece.

export type SourceKind = 'cdn' | 'peers'

export interface Source {
  readonly kind: SourceKind
  /** Delivers until the job needs nothing more from this source; rejects with why it cannot go on. */
  run(): Promise<void>
  /** Ends the source's work and closes its connections; what it placed stays placed. */
  stop(): Promise<void>
}

/** Waits until `source` is ready; one that fails to get there is stopped, and the error rethrown. */
export async function readyOrStopped<S extends Source>(source: S, ready: () => Promise<void>): Promise<S> {
  try {
    await ready()
  } catch (err) {
    await source.stop()
    throw err
  }
  return source
}
