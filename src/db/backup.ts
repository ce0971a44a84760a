import { chmodSync, closeSync, openSync, renameSync, rmSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import SQLite from 'better-sqlite3'

// `badge backup FILE` on SQLite (docs/operations.md). SQLite's online backup API copies
// the database page by page from a read transaction; in WAL mode the server keeps writing
// meanwhile. All pages are copied in one step: a step that another connection's write
// interrupts restarts from the first page, so small steps under a steady refresh load
// could restart forever, while one step reads one consistent snapshot, taken after the
// command started. The copy holds password hashes and signing keys: it is written to a
// 0600 file in the target's directory, checked, and only then renamed to FILE, so FILE
// is never a partial copy.

/** better-sqlite3 clamps a step's page count to this: "every remaining page". */
const ALL_PAGES = 0x7fffffff

export class BackupError extends Error {
  override name = 'BackupError'
}

export interface BackupResult {
  file: string
  pages: number
}

export async function backupSqlite(source: SQLite.Database, file: string): Promise<BackupResult> {
  const target = resolve(file)
  if (target === resolve(source.name)) throw new BackupError('The backup file cannot be the database itself.')
  const partial = join(dirname(target), `.${basename(target)}.${process.pid}.partial`)
  try {
    // SQLite writes into the file it finds, keeping its mode, whatever the umask.
    closeSync(openSync(partial, 'wx', 0o600))
  } catch (error) {
    throw new BackupError(`Cannot create ${partial}: ${(error as Error).message}`)
  }
  try {
    const { totalPages } = await source.backup(partial, { progress: () => ALL_PAGES })
    const copy = new SQLite(partial)
    try {
      // A self-contained file: no -wal beside it (the server turns WAL back on when it opens it).
      copy.pragma('journal_mode = DELETE')
      const check = copy.pragma('integrity_check', { simple: true })
      if (check !== 'ok') throw new BackupError(`The copy failed its integrity check: ${String(check)}`)
    } finally {
      copy.close()
    }
    chmodSync(partial, 0o600)
    renameSync(partial, target)
    return { file: target, pages: totalPages }
  } catch (error) {
    rmSync(partial, { force: true })
    throw error
  }
}
