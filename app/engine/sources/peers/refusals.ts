// Admission refusals by reason, kept apart from tls-peers.ts so that job results and the
// agent can count them without loading TLS or webtorrent.
import type { RefusalReason } from '../../../release/admission.ts'

/** Refusals by reason; `refused-by-peer` counts this client's dials that a peer turned away. */
export type Refusals = Partial<Record<RefusalReason | 'refused-by-peer', number>>

export function addRefusals(into: Refusals, more: Refusals): void {
  for (const [reason, n] of Object.entries(more) as [keyof Refusals, number][]) into[reason] = (into[reason] ?? 0) + n
}
