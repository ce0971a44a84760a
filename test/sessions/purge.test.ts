import t from 'tap'
import { SESSION_PURGE_INTERVAL_MS } from '../../src/maintenance.js'
import { purgeSessions } from '../../src/sessions/purge.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { login, refreshGrant } from '../helpers/flows.js'

const DAY = 86_400_000
const IDLE_MS = 14 * DAY // REFRESH_TOKEN_IDLE_TTL default
const ABSOLUTE_MS = 30 * DAY // REFRESH_TOKEN_TTL default

await eachDialect(t, async (t, dialect) => {
  await t.test('purge deletes revoked, expired and idle sessions with their refresh tokens', async (t) => {
    const { app, clock } = await buildTestApp(t, {}, dialect)
    const { db } = app.services.database
    const start = clock()

    const revoked = await login(app)
    await app.inject({
      method: 'POST',
      url: '/oauth/revoke',
      payload: { token: revoked.tokens.refresh_token },
    })
    const idle = await login(app)
    const expired = await login(app)
    // Kept alive by refreshing every 10 days, until its absolute lifetime runs out.
    let expiredRefresh = expired.tokens.refresh_token
    let expiredToo = (await login(app)).tokens.refresh_token
    for (const day of [10, 20]) {
      clock.set(start + day * DAY)
      expiredRefresh = (await refreshGrant(app, expiredRefresh)).json().refresh_token
      expiredToo = (await refreshGrant(app, expiredToo)).json().refresh_token
    }
    clock.set(start + ABSOLUTE_MS)
    const fresh = await login(app)

    const sessionIds = async () =>
      (await db.selectFrom('sessions').select('id').execute()).map((r) => r.id).sort()
    t.equal((await sessionIds()).length, 5)
    // Absolute end reached for `expired` and `expiredToo` (both started at `start`); `idle` unused for 30 days.
    const result = await purgeSessions(db, { now: clock(), idleTtlMs: IDLE_MS, batchSize: 2 })
    t.same(result, { sessions: 4, refresh_tokens: 1 + 1 + 3 + 3 }, 'in batches smaller than the work')
    const [freshSession] = await sessionIds()
    t.equal((await sessionIds()).length, 1)
    const freshRow = await db
      .selectFrom('sessions')
      .selectAll()
      .where('id', '=', freshSession!)
      .executeTakeFirst()
    t.equal(freshRow!.created_at, clock(), 'only the live session is left')
    t.equal((await db.selectFrom('refresh_tokens').select('id').execute()).length, 1)
    t.equal((await refreshGrant(app, fresh.tokens.refresh_token)).statusCode, 200)
    t.equal((await refreshGrant(app, idle.tokens.refresh_token)).json().error, 'invalid_grant')
    t.same(await purgeSessions(db, { now: clock(), idleTtlMs: IDLE_MS }), { sessions: 0, refresh_tokens: 0 })
  })

  await t.test('the server purges on its maintenance pass at most once an hour', async (t) => {
    const { app, clock } = await buildTestApp(t, {}, dialect)
    const { db } = app.services.database
    const count = async () => (await db.selectFrom('sessions').select('id').execute()).length
    const endSession = async () => {
      const { tokens } = await login(app)
      await app.inject({ method: 'POST', url: '/oauth/revoke', payload: { token: tokens.refresh_token } })
    }

    await endSession()
    await app.services.maintenance.run()
    t.equal(await count(), 0, 'the first pass purges')

    await endSession()
    clock.advance(SESSION_PURGE_INTERVAL_MS - 1)
    await app.services.maintenance.run()
    t.equal(await count(), 1, 'not again within the hour')
    clock.advance(1)
    await app.services.maintenance.run()
    t.equal(await count(), 0)
  })
})
