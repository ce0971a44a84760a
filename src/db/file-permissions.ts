import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs'
import { dirname } from 'node:path'

// The SQLite file holds password hashes and, without KEY_ENCRYPTION_SECRET, the private
// signing keys in the clear: any local user who can read it can mint admin tokens. So
// the data directory Badge creates is 0700 and the database files are 0600 whatever the
// umask (SQLite creates -wal and -shm with the mode of the database file). A file that
// already exists readable by others is tightened to 0600 and reported loudly: its
// contents may have been read, so the signing keys should be rotated.

const PRIVATE_FILE = 0o600
const PRIVATE_DIR = 0o700

/** Prepares `path` for SQLite: private directory and files. Returns one warning per file it had to tighten. */
export function securePrivateDatabaseFiles(path: string): string[] {
  const dir = dirname(path)
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR })
  if (!existsSync(path)) closeSync(openSync(path, 'a', PRIVATE_FILE))
  const warnings: string[] = []
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    if (!existsSync(file)) continue
    const mode = statSync(file).mode & 0o777
    if ((mode & 0o077) === 0) continue
    chmodSync(file, PRIVATE_FILE)
    warnings.push(
      `${file} was readable by other users (mode ${mode.toString(8)}); it is now 600. ` +
        'Its password hashes and signing keys may have been read: rotate the signing keys (badge keys rotate).',
    )
  }
  return warnings
}
