// When each peer wire last showed life, for the questions the CDN scheduler asks of it: has it
// said what it has, does it still count as a source of those pieces (isPeerSource), and is it
// still in this client's group (isGroupMember).
import { isPeerSource } from '../../scheduler/cdn-scheduler.ts'
import { isGroupMember } from '../../scheduler/piece-owner.ts'

export class WireLiveness<W> {
  /** When each wire connected, last unchoked us or sent a block: a holder that chokes us is still a source (stock clients unchoke in rounds of ~10 s). */
  private readonly activeAt = new Map<W, number>()
  /** When each wire connected or last announced a piece: whether a group member makes progress. */
  private readonly announcedAt = new Map<W, number>()
  /** Wires that said what they have (or had time to). */
  private readonly settledWires = new Set<W>()

  connected(wire: W, now: number): void {
    this.activeAt.set(wire, now)
    this.announcedAt.set(wire, now)
  }

  /** It unchoked us or sent a block. */
  active(wire: W, now: number): void {
    this.activeAt.set(wire, now)
  }

  /** It announced a piece it completed. */
  announced(wire: W, now: number): void {
    this.announcedAt.set(wire, now)
  }

  /** It said what it has, or had time to; true the first time. */
  settle(wire: W): boolean {
    if (this.settledWires.has(wire)) return false
    this.settledWires.add(wire)
    return true
  }

  /** How many open wires have settled. */
  get settled(): number {
    return this.settledWires.size
  }

  closed(wire: W): void {
    this.activeAt.delete(wire)
    this.announcedAt.delete(wire)
    this.settledWires.delete(wire)
  }

  isSource(wire: W, choking: boolean, now: number, stallMs: number): boolean {
    return isPeerSource({ choking, activeAt: this.activeAt.get(wire) ?? now }, now, stallMs)
  }

  /** For a Shoal peer: whether it is in the group, given whether it is a source now. */
  isMember(wire: W, source: boolean, now: number): boolean {
    return isGroupMember({ source, announcedAt: this.announcedAt.get(wire) ?? now }, now)
  }
}
