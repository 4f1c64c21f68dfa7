import type { Manifest } from '../../shared/release-schema.ts'

/** Where each chunk's stored bytes sit: its section's store file and the offset in it. */
export class StoreLocations {
  private readonly offsets: Float64Array
  private readonly sections: Manifest['pack']['sections']

  constructor(m: Manifest) {
    this.sections = m.pack.sections
    this.offsets = new Float64Array(m.chunks.size.length)
    for (const s of m.pack.sections) {
      let offset = 0
      for (let i = s.firstChunk; i < s.firstChunk + s.chunkCount; i++) {
        this.offsets[i] = offset
        offset += m.chunks.stored[i]!
      }
    }
  }

  offset(chunk: number): number {
    return this.offsets[chunk]!
  }

  /** The store holding `chunk`: sections are few and in chunk order. */
  path(chunk: number): string {
    const s = this.sections.find((s) => chunk >= s.firstChunk && chunk < s.firstChunk + s.chunkCount)
    if (!s) throw new RangeError(`chunk ${chunk} is in no pack section`)
    return s.store.path
  }
}
