import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import SQLite from 'better-sqlite3'
import t from 'tap'
import { isDatabaseUnavailable } from '../../src/db/errors.js'
import { createDatabase } from '../../src/db/index.js'
import { migrateToLatest } from '../../src/db/migrations.js'

// Issue 13 item 5: a second writer on the SQLite file (the operator CLI beside a running
// server, or a second server) must never turn a request into a 500. Transactions take
// the write lock when they begin (BEGIN IMMEDIATE), so none can fail half-way with
// SQLITE_BUSY_SNAPSHOT; every busy/locked variant is classified as 503.

t.test(
  'a transaction that reads then writes is not broken by another process writing meanwhile',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'badge-busy-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 'badge.db')
    const database = createDatabase({ url: `sqlite:${path}` })
    t.teardown(() => database.close())
    await migrateToLatest(database.db)
    // The "other process": its own connection that does not wait for locks.
    const other = new SQLite(path, { timeout: 0 })
    t.teardown(() => other.close())
    let otherWrite: unknown
    await database.db.transaction().execute(async (trx) => {
      await trx.selectFrom('users').select('id').execute()
      try {
        other.prepare("insert into clients values ('x', 'x', 'x', 'x', '', 0)").run()
        otherWrite = 'committed'
      } catch (error) {
        otherWrite = (error as { code?: string }).code
      }
      await trx
        .insertInto('clients')
        .values({ id: 'y', client_id: 'y', name: 'y', secret_hash: 'y', scopes: '', created_at: 0 })
        .execute()
    })
    t.equal(
      otherWrite,
      'SQLITE_BUSY',
      'the other writer waited for this transaction (busy at once with timeout 0)',
    )
    const rows = await database.db.selectFrom('clients').select('client_id').execute()
    t.same(
      rows.map((r) => r.client_id),
      ['y'],
      'this transaction committed',
    )
  },
)

t.test('every SQLite busy and locked variant is "unavailable" (503), not a 500', async (t) => {
  for (const code of [
    'SQLITE_BUSY',
    'SQLITE_BUSY_SNAPSHOT',
    'SQLITE_BUSY_RECOVERY',
    'SQLITE_BUSY_TIMEOUT',
    'SQLITE_LOCKED',
    'SQLITE_LOCKED_SHAREDCACHE',
  ]) {
    t.ok(isDatabaseUnavailable(Object.assign(new Error('busy'), { code })), code)
  }
  t.notOk(isDatabaseUnavailable(Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT_UNIQUE' })))
})
