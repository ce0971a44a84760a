import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { createDatabase } from '../../src/db/index.js'
import { NEXT_KEY_MIN_PUBLISHED_MS } from '../../src/keys/maintenance.js'
import { createServices } from '../../src/services.js'
import { buildTestApp, eachDialect, TEST_ENV } from '../helpers/app.js'
import { login } from '../helpers/flows.js'
import { claimsStatus, jwksKids, kidOf } from '../helpers/keys.js'

const DAY = 86_400_000

await eachDialect(t, async (t, dialect) => {
  const statuses = async (app: Awaited<ReturnType<typeof buildTestApp>>['app']) =>
    Object.fromEntries((await app.services.keys.listKeys()).map((k) => [k.kid, k.status]))

  await t.test('KEY_ROTATION_DAYS publishes a next key a day ahead, then makes it active', async (t) => {
    const { app, clock } = await buildTestApp(t, { KEY_ROTATION_DAYS: '3' }, dialect)
    const start = clock()
    const [first] = await jwksKids(app)

    clock.set(start + 2 * DAY - 1)
    await app.services.maintenance.run()
    t.same(await jwksKids(app), [first], 'nothing yet more than a day before the rotation is due')

    clock.set(start + 2 * DAY)
    await app.services.maintenance.run()
    await app.services.maintenance.run()
    const published = await jwksKids(app)
    t.equal(published.length, 2, 'one next key, however often maintenance runs')
    const next = published.find((kid) => kid !== first)!
    t.same(await statuses(app), { [first!]: 'active', [next]: 'next' })
    t.equal(kidOf((await login(app)).tokens.access_token), first, 'the next key does not sign yet')

    clock.set(start + 3 * DAY - 1)
    const { tokens: lastOfFirst } = await login(app)
    await app.services.maintenance.run()
    t.equal(kidOf((await login(app)).tokens.access_token), first)

    clock.set(start + 3 * DAY)
    await app.services.maintenance.run()
    t.same(await statuses(app), { [first!]: 'retiring', [next]: 'active' })
    t.equal(kidOf((await login(app)).tokens.access_token), next, 'the period is over: the next key signs')
    t.equal(await claimsStatus(app, lastOfFirst.access_token), 200, 'tokens of the previous key still verify')
  })

  await t.test('without KEY_ROTATION_DAYS keys never rotate on their own', async (t) => {
    const { app, clock } = await buildTestApp(t, {}, dialect)
    const before = await jwksKids(app)
    clock.advance(1000 * DAY)
    await app.services.maintenance.run()
    t.same(await jwksKids(app), before)
  })

  await t.test('a next key published late waits until caches can have seen it', async (t) => {
    const { app, clock } = await buildTestApp(t, { KEY_ROTATION_DAYS: '1' }, dialect)
    const start = clock()
    const [first] = await jwksKids(app)
    // No instance ran maintenance during the lead time (e.g. all were down).
    clock.set(start + DAY + 3_600_000)
    await app.services.maintenance.run()
    const next = (await jwksKids(app)).find((kid) => kid !== first)!
    t.same(await statuses(app), { [first!]: 'active', [next]: 'next' })

    clock.advance(NEXT_KEY_MIN_PUBLISHED_MS - 1)
    await app.services.maintenance.run()
    t.equal((await statuses(app))[next], 'next')
    clock.advance(1)
    await app.services.maintenance.run()
    t.equal((await statuses(app))[next], 'active')
  })

  await t.test('instances running maintenance at once publish one key and rotate once', async (t) => {
    const { app, clock, database } = await buildTestApp(t, { KEY_ROTATION_DAYS: '2' }, dialect)
    // A second instance: its own connection on PostgreSQL; on in-memory SQLite the same
    // connection, where kysely still interleaves the two instances' statements.
    const otherDatabase = dialect.name === 'postgres' ? createDatabase({ url: database.url }) : database
    if (otherDatabase !== database) t.teardown(() => otherDatabase.close())
    const config = loadConfig({ ...TEST_ENV, KEY_ROTATION_DAYS: '2', DATABASE_URL: database.url })
    const other = createServices({ config, database: otherDatabase, clock, log: app.log })
    await other.keys.reload()
    const start = clock()
    const [first] = await jwksKids(app)

    clock.set(start + DAY)
    await Promise.all([
      app.services.maintenance.run(),
      other.maintenance.run(),
      app.services.maintenance.run(),
    ])
    const rows = await database.db.selectFrom('signing_keys').selectAll().execute()
    t.equal(rows.filter((r) => r.status === 'next').length, 1, 'one next key')

    clock.set(start + 2 * DAY)
    await Promise.all([app.services.maintenance.run(), other.maintenance.run()])
    const after = await database.db.selectFrom('signing_keys').selectAll().execute()
    t.same(after.map((r) => r.status).sort(), ['active', 'retiring'])
    const active = after.find((r) => r.status === 'active')!.kid
    t.not(active, first)
    t.equal(app.services.keys.signingKey().kid, active)
    t.equal(other.keys.signingKey().kid, active, 'both instances sign with the same key')
  })

  await t.test('two keys left active by racing rotations are reduced to one on every instance', async (t) => {
    const { app, clock, database } = await buildTestApp(t, {}, dialect)
    const [first] = await jwksKids(app)
    clock.advance(1000)
    const second = await app.services.keys.rotate()
    // As if another instance's rotation had committed concurrently and re-activated the first.
    await database.db
      .updateTable('signing_keys')
      .set({ status: 'active' })
      .where('kid', '=', first!)
      .execute()
    await app.services.keys.reload()
    t.equal(app.services.keys.signingKey().kid, second.kid, 'the latest activation signs')

    await app.services.maintenance.run()
    t.same(await statuses(app), { [first!]: 'retiring', [second.kid]: 'active' })
    t.equal(await claimsStatus(app, (await login(app)).tokens.access_token), 200)
  })
})
