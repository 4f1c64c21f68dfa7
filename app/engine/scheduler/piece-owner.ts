// Pure: which member of a group of downloaders brings a piece no peer has in from the CDN, so
// that the group takes one copy and passes it on: the machines of one site behind one WAN link,
// or else the connected Shoal peers still downloading. Rendezvous hashing: every member that
// sees the same members names the same owner without talking, and a member joining or leaving
// moves only its own share. Where views differ, following "who owns it" always climbs to a
// member that owns it in its own view, so no piece is left to nobody.

/** A member's key for `owns`: a 32-bit hash of its peer id (FNV-1a). */
export function memberKey(peerId: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < peerId.length; i++) h = Math.imul(h ^ peerId.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/** The member's weight for a piece: a hash of both (murmur3's finaliser). */
function weight(key: number, piece: number): number {
  let h = (key ^ Math.imul(piece + 1, 0x9e3779b1)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** Whether `self` brings `piece` in for its group: its weight beats every other member's (ties to the lower key). */
export function owns(piece: number, self: number, others: readonly number[]): boolean {
  const mine = weight(self, piece)
  for (const k of others) {
    const theirs = weight(k, piece)
    if (theirs > mine || (theirs === mine && k < self)) return false
  }
  return true
}

/**
 * How long a member that sends us nothing still counts, from its connection or its last
 * announced piece: a member that makes no progress (its CDN capped, say) would hold its share of
 * pieces back from everyone who waits for it.
 */
export const MEMBER_PATIENCE_MS = 30_000

/** Whether a connected Shoal peer still downloading is in this client's group now. */
export function isGroupMember(peer: { readonly source: boolean; readonly announcedAt: number }, now: number): boolean {
  return peer.source || now - peer.announcedAt <= MEMBER_PATIENCE_MS
}

/**
 * The group among a client's members (connected Shoal peers that make progress): those on its
 * LAN when it has any, since they share its link to the CDN and one copy over that link is the
 * point; else all of them, over the internet.
 */
export function groupMembers<W>(members: readonly { readonly peer: W; readonly lan: boolean }[]): { readonly members: W[]; readonly sharedLink: boolean } {
  const lan = members.filter((m) => m.lan)
  return lan.length > 0 ? { members: lan.map((m) => m.peer), sharedLink: true } : { members: members.map((m) => m.peer), sharedLink: false }
}
