// Controls fixed by the managed policy are drawn disabled, with the reason next to them.
import type { AgentState } from './shoal-store.ts'

/** Why a setting cannot be changed, or null. A locked parent path ("caps") locks its children. */
export function lockReason(agent: AgentState, path: string): string | null {
  const locked = agent.locked.some((p) => p === path || path.startsWith(`${p}.`))
  return locked ? `Set by your organisation's policy (${agent.policy.path}); it cannot be changed here.` : null
}

export function LockNote({ id, reason }: { id: string; reason: string | null }) {
  if (!reason) return null
  return (
    <p id={id} className="lock-note">
      <strong>Locked.</strong> {reason}
    </p>
  )
}
