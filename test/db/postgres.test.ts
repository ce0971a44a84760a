import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { isDatabaseUnavailable } from '../../src/db/errors.js'
import { createDatabase } from '../../src/db/index.js'
import { migrateToLatest } from '../../src/db/migrations.js'
import { TEST_ENV } from '../helpers/app.js'
import { testClock } from '../helpers/clock.js'
import { dialects, POSTGRES_SKIP_REASON, TEST_DATABASE_URL } from '../helpers/databases.js'
import { startTcpProxy, viaProxy } from '../helpers/net.js'

// PostgreSQL behaviour that SQLite has no counterpart for: several instances sharing
// one database, a bounded pool, and statements that cannot hang.

const postgres = dialects.find((d) => d.name === 'postgres')
if (!postgres) {
  t.test('postgres', { skip: POSTGRES_SKIP_REASON }, async () => {})
} else {
  async function freshDatabase(t: Test) {
    const { url, drop } = await postgres!.create()
    t.teardown(drop)
    return url
  }

  await t.test('six migrators started at once on an empty database migrate it exactly once', async (t) => {
    const url = await freshDatabase(t)
    const databases = Array.from({ length: 6 }, () => createDatabase({ url, poolMax: 2 }))
    t.teardown(() => Promise.all(databases.map((d) => d.close())))
    const results = await Promise.allSettled(databases.map((d) => migrateToLatest(d.db)))
    t.same(
      results.map((r) => r.status),
      Array(6).fill('fulfilled'),
    )
    const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(
      databases[0]!.db,
    )
    const names = applied.rows.map((r) => r.name)
    t.same(names, [...new Set(names)], 'each migration recorded once')
    t.ok(names.includes('0001_core'))
  })

  await t.test('four instances started at once on an empty database create one signing key', async (t) => {
    const url = await freshDatabase(t)
    const config = loadConfig({ ...TEST_ENV, DATABASE_URL: url, DATABASE_POOL_MAX: '1' })
    const apps = await Promise.all(Array.from({ length: 4 }, () => buildApp(config, { clock: testClock() })))
    t.teardown(() => Promise.all(apps.map((a) => a.close())))
    const keys = await apps[0]!.services.database.db.selectFrom('signing_keys').selectAll().execute()
    t.equal(keys.length, 1)
    t.equal(keys[0]!.status, 'active')
    for (const app of apps) {
      const jwks = (await app.inject({ url: '/.well-known/jwks.json' })).json()
      t.same(
        jwks.keys.map((k: { kid: string }) => k.kid),
        [keys[0]!.kid],
      )
    }
  })

  await t.test('the pool never opens more than DATABASE_POOL_MAX connections', async (t) => {
    const url = await freshDatabase(t)
    const name = new URL(url).pathname.slice(1)
    const database = createDatabase({ url, poolMax: 3 })
    t.teardown(() => database.close())
    const observer = createDatabase({ url: TEST_DATABASE_URL!, poolMax: 1 })
    t.teardown(() => observer.close())
    const busy = Promise.all(Array.from({ length: 12 }, () => sql`select pg_sleep(0.2)`.execute(database.db)))
    let most = 0
    let done = false
    void busy.finally(() => {
      done = true
    })
    while (!done) {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from pg_stat_activity
        where datname = ${name} and application_name = 'badge'`.execute(observer.db)
      most = Math.max(most, rows[0]!.n)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await busy
    t.ok(most > 0, 'connections were observed')
    t.ok(most <= 3, `at most 3 connections (saw ${most})`)
  })

  await t.test('a statement running past the timeout fails as "database unavailable"', async (t) => {
    const url = await freshDatabase(t)
    const database = createDatabase({ url, poolMax: 1, statementTimeout: 300 })
    t.teardown(() => database.close())
    const error = await sql`select pg_sleep(5)`.execute(database.db).then(
      () => undefined,
      (e: unknown) => e,
    )
    t.ok(isDatabaseUnavailable(error), String(error))
    // The pool is still usable afterwards.
    t.same((await sql<{ one: number }>`select 1 as one`.execute(database.db)).rows, [{ one: 1 }])
  })

  await t.test('a connection that went silent is discarded, not handed out again', async (t) => {
    const url = await freshDatabase(t)
    const target = new URL(url)
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
    t.teardown(() => proxy.close())
    const database = createDatabase({ url: viaProxy(url, proxy), poolMax: 1, statementTimeout: 300 })
    t.teardown(() => database.close())
    const one = () => sql<{ one: number }>`select 1 as one`.execute(database.db)
    await one()
    proxy.set('blackhole')
    const error = await one().then(
      () => undefined,
      (e: unknown) => e,
    )
    t.ok(isDatabaseUnavailable(error), String(error))
    // The old flow stays dead; only a new connection can answer.
    proxy.set('forward')
    t.same((await one()).rows, [{ one: 1 }])
  })
}
