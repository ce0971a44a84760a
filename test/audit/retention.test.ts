import t from 'tap'
import { SYSTEM_CONTEXT } from '../../src/audit/events.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'

// docs/audit.md, Retention: the maintenance pass deletes exactly the events older
// than AUDIT_RETENTION_DAYS, and keeps the rest, the one exactly at the limit included.

const DAY = 86_400_000

await eachDialect(t, async (t, dialect) => {
  const { app, clock, database } = await buildTestApp(t, { AUDIT_RETENTION_DAYS: '30' }, dialect)
  const start = clock()
  const record = async (at: number, userId: string) => {
    clock.set(at)
    await app.services.audit.record(database.db, SYSTEM_CONTEXT, { type: 'user.updated', userId })
  }
  const ids = async () =>
    (await database.db.selectFrom('audit_events').select(['user_id', 'type']).orderBy('at').execute()).map(
      (r) => r.user_id ?? r.type,
    )
  // The first signing key's key.rotated was written at `start`.
  await record(start + 10 * DAY - 1, 'just-expired')
  await record(start + 10 * DAY, 'at-the-limit')
  await record(start + 20 * DAY, 'recent')
  t.same(await ids(), ['key.rotated', 'just-expired', 'at-the-limit', 'recent'])

  clock.set(start + 40 * DAY)
  await app.services.maintenance.run()
  t.same(await ids(), ['at-the-limit', 'recent'], 'exactly the events older than 30 days are gone')
  t.equal(await app.services.audit.purgeExpired(), 0, 'a second purge finds nothing')
})
