import t from 'tap'
import { migrateToLatest } from '../../src/db/migrations.js'
import { precompile } from '../../src/db/precompiled.js'
import { CLIENT_COLUMNS } from '../../src/db/schema.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { openTestDatabase } from '../helpers/databases.js'
import { bearer, login, refreshGrant, type TokenBody } from '../helpers/flows.js'

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
    db.selectFrom('clients').select(CLIENT_COLUMNS).where('client_id', '=', clientId),
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
  t.throws(
    () =>
      precompile(db, 1, (db, clientId: string) =>
        db.selectFrom('clients').selectAll().where('client_id', '=', clientId),
      ),
    /name the columns/,
    'a statement selecting * is refused at start-up',
  )

  // A rolling upgrade: another instance adds a column while this one's connections hold
  // the statement prepared (PostgreSQL). Its result columns are named, so it still runs.
  await db.schema.alterTable('clients').addColumn('added_by_a_later_release', 'text').execute()
  for (let i = 0; i < 8; i++)
    t.same((await byClientId(db, 'two')).rows, [client('two')], `after the migration (${i})`)
})

await eachDialect(t, async (t, dialect) => {
  // The same through the app: refresh and introspection, whose reads are prepared on each
  // connection, keep working when the sessions table gains a column under them.
  const { app, database } = await buildTestApp(t, {}, dialect)
  const { tokens } = await login(app)
  const first = (await refreshGrant(app, tokens.refresh_token)).json() as TokenBody
  await database.db.schema.alterTable('sessions').addColumn('added_by_a_later_release', 'text').execute()
  await database.db.schema.alterTable('clients').addColumn('added_by_a_later_release', 'text').execute()
  let refreshToken = first.refresh_token
  for (let i = 0; i < 8; i++) {
    const res = await refreshGrant(app, refreshToken)
    t.equal(res.statusCode, 200, `refresh ${i} after the migration`)
    refreshToken = (res.json() as TokenBody).refresh_token
  }
  t.equal((await app.inject({ url: '/v1/me', headers: bearer(first.access_token) })).statusCode, 200)
})
