import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createDatabase } from '../../src/db/index.js'
import { migrateToLatest } from '../../src/db/migrations.js'

// Issue 13 item 3: the SQLite database holds password hashes and (without
// KEY_ENCRYPTION_SECRET) cleartext signing keys, so no other local user may read it.

const modeOf = (path: string) => statSync(path).mode & 0o777

function tempRoot(t: { teardown(fn: () => unknown): void }) {
  const root = mkdtempSync(join(tmpdir(), 'badge-perm-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  return root
}

// The usual umask, whatever the test runner's: the modes must not depend on it.
const previousUmask = process.umask(0o022)
t.teardown(() => process.umask(previousUmask))

t.test('a new data directory is 0700 and the database, -wal and -shm are 0600', async (t) => {
  const dir = join(tempRoot(t), 'data')
  const path = join(dir, 'badge.db')
  const database = createDatabase({ url: `sqlite:${path}` })
  t.teardown(() => database.close())
  await migrateToLatest(database.db)
  t.equal(modeOf(dir).toString(8), '700', 'directory')
  for (const file of [path, `${path}-wal`, `${path}-shm`]) t.equal(modeOf(file).toString(8), '600', file)
})

t.test('an existing world-readable database is tightened to 0600 with a loud warning', async (t) => {
  const root = tempRoot(t)
  const path = join(root, 'badge.db')
  writeFileSync(path, '')
  chmodSync(path, 0o644)
  const warnings: string[] = []
  const onWarning = (warning: Error) => warnings.push(warning.message)
  process.on('warning', onWarning)
  t.teardown(() => process.off('warning', onWarning))
  const database = createDatabase({ url: `sqlite:${path}` })
  t.teardown(() => database.close())
  await migrateToLatest(database.db)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(modeOf(path).toString(8), '600')
  t.equal(warnings.length, 1, 'one warning')
  t.match(warnings[0], /readable by other users.*rotate the signing keys/)
})
