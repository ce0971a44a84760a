import t from 'tap'
import { migrateToLatest } from '../../src/db/migrations.js'
import { precompile } from '../../src/db/precompiled.js'
import { eachDialect } from '../helpers/app.js'
import { openTestDatabase } from '../helpers/databases.js'

// Precompiled queries (src/db/precompiled.ts) run the SQL Kysely compiled once with new
// values: they must find, write and count exactly what the built query would, on both
// dialects, keep the values the builder wrote itself, and refuse a builder whose
// arguments do not reach the SQL as they are.

await eachDialect(t, async (t, dialect) => {
  const database = await openTestDatabase(t, dialect)
  const { db } = database
  await migrateToLatest(db)
  const client = (clientId: string) => ({
    id: `id-${clientId}`,
    client_id: clientId,
    name: 'n',
    secret_hash: 'h',
    scopes: 'a b',
    created_at: 1,
  })
  const insert = precompile(db, 2, (db, id: string, clientId: string) =>
    db.insertInto('clients').values({ ...client(clientId), id }),
  )
  const byClientId = precompile(db, 1, (db, clientId: string) =>
    db.selectFrom('clients').selectAll().where('client_id', '=', clientId),
  )
  const rename = precompile(db, 2, (db, clientId: string, name: string) =>
    db.updateTable('clients').set({ name, scopes: 'constant' }).where('client_id', '=', clientId),
  )

  await insert(db, 'id-one', 'one')
  await insert(db, 'id-two', 'two')
  t.same(
    (await byClientId(db, 'two')).rows,
    [client('two')],
    'the row of the value given, not of the placeholder',
  )
  t.same((await byClientId(db, 'three')).rows, [], 'no row for an unknown value')
  t.equal(Number((await rename(db, 'one', 'renamed')).numAffectedRows), 1)
  t.equal(Number((await rename(db, 'nobody', 'x')).numAffectedRows), 0)
  t.same(
    await db.selectFrom('clients').select(['client_id', 'name', 'scopes']).orderBy('client_id').execute(),
    [
      { client_id: 'one', name: 'renamed', scopes: 'constant' },
      { client_id: 'two', name: 'n', scopes: 'a b' },
    ],
  )
  // In a transaction, on the transaction's connection: a rollback undoes it.
  await db
    .transaction()
    .execute(async (trx) => {
      await rename(trx, 'two', 'rolled back')
      throw new Error('roll back')
    })
    .catch(() => {})
  t.equal((await byClientId(db, 'two')).rows[0]?.name, 'n')

  t.throws(
    () =>
      precompile(db, 1, (db, clientId: string) =>
        db.selectFrom('clients').where('client_id', '=', clientId.toUpperCase()),
      ),
    /argument 0 is not exactly one parameter/,
    'a builder that changes its argument is refused at start-up',
  )
  t.throws(
    () =>
      precompile(db, 1, (db, clientId: string) =>
        db.selectFrom('clients').where('client_id', '=', clientId).where('name', '=', clientId),
      ),
    /argument 0 is not exactly one parameter/,
    'an argument used twice is refused',
  )
})
