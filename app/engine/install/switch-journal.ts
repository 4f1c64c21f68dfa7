// The switch from staging to install is a short list of file-system operations
// recorded in SQLite before the first one runs. Each is idempotent given what is on
// disk, the index of the next one is committed after each, and the parent folder is
// fsynced, so a crash at any point is finished by replaying the list at the next start.
import { existsSync } from 'node:fs'
import { open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { ShoalError } from '../../../shared/errors.ts'
import { advanceJournal, journal } from '../../store/jobs-table.ts'
import type { StateDb } from '../../store/state-db.ts'
import { crashPoint } from './crash-points.ts'

export type SwitchOp = { readonly op: 'rm'; readonly path: string } | { readonly op: 'rename'; readonly from: string; readonly to: string }

/** Old version to the backup folder, new version into place; the older backup goes first. */
export function installOps(installDir: string, stagingDir: string, backupDir: string, hasInstall: boolean): SwitchOp[] {
  return [{ op: 'rm', path: backupDir }, ...(hasInstall ? [{ op: 'rename', from: installDir, to: backupDir } as const] : []), { op: 'rename', from: stagingDir, to: installDir }]
}

/** Swap install and backup through a third name. */
export function rollbackOps(installDir: string, backupDir: string, asideDir: string): SwitchOp[] {
  return [
    { op: 'rm', path: asideDir },
    { op: 'rename', from: installDir, to: asideDir },
    { op: 'rename', from: backupDir, to: installDir },
    { op: 'rename', from: asideDir, to: backupDir },
  ]
}

async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r')
  await handle.sync().finally(() => handle.close())
}

async function apply(op: SwitchOp): Promise<void> {
  if (op.op === 'rm') {
    await rm(op.path, { recursive: true, force: true })
    await syncDir(dirname(op.path))
    return
  }
  if (existsSync(op.from)) {
    await rename(op.from, op.to)
  } else if (!existsSync(op.to)) {
    throw new ShoalError('E_IO', `cannot finish the switch: neither ${op.from} nor ${op.to} exists`, 'run `shoal verify --dir` to repair the install')
  }
  await syncDir(dirname(op.to))
}

/** Runs the job's recorded operations from the first one not yet committed. */
export async function runJournal(db: StateDb, jobId: number): Promise<void> {
  const row = journal(db, jobId)
  const ops = JSON.parse(row.ops) as SwitchOp[]
  for (let i = row.next_op; i < ops.length; i++) {
    await apply(ops[i]!)
    crashPoint(`switch-op-${i}`)
    advanceJournal(db, jobId, i + 1)
  }
}
