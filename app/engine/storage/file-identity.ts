// A file's identity for the verified-piece checks: device, inode, size and mtime. A write, a
// replacement or a truncation changes it. One format for the worker that reads pieces and the
// install that records the files it verified (verified-files-table.ts).

export interface FileStat {
  readonly dev: number
  readonly ino: number
  readonly size: number
  readonly mtimeMs: number
}

export const fileIdentity = (st: FileStat): string => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`

/** A piece's identity: the identities of the files it reads, in the order it reads them. */
export const pieceIdentity = (files: readonly string[]): string => files.join('/')
