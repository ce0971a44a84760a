import t from 'tap'
import type { Db } from '../../src/db/schema.js'
import { createRefreshTokenRepository } from '../../src/sessions/refresh-token-repository.js'
import { createSessionRepository } from '../../src/sessions/repository.js'
import { createRefreshTokens, hashRefreshToken } from '../../src/tokens/refresh-token.js'
import { bumpCredentialVersion } from '../../src/users/credential-fence.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { testClock } from '../helpers/clock.js'
import { login } from '../helpers/flows.js'

// A session revoked after the rotation read its token and before the spend (a password
// change, a disable or a client deletion committing in between: users/credential-fence.ts)
// must end the rotation with nothing kept: 400 invalid_grant, never a 500, the token
// unspent and no successor. The rotation's read is one statement and, on PostgreSQL, the
// spend is one statement of data-modifying CTEs outside any transaction
// (docs/performance.md: "Refresh statements"), so the revocation is slipped in between
// them by wrapping the read.

await eachDialect(t, async (t, dialect) => {
  const { app, database } = await buildTestApp(t, {}, dialect)
  const { db } = database
  const tokens = createRefreshTokenRepository(db)
  const sessions = createSessionRepository(db, app.services.revocations)
  const rotation = (findForRotation: typeof tokens.findForRotation) =>
    createRefreshTokens({
      db,
      audit: app.services.audit,
      dialect: database.dialect,
      sessions,
      tokens: { ...tokens, findForRotation },
      clock: testClock(),
      refreshTokenTtl: 3600,
      refreshTokenIdleTtl: 3600,
      reuseGraceSeconds: 10,
      maxSessionsPerUser: 50,
    })
  const tokenState = async (presented: string) => ({
    spent: (await tokens.findByHash(hashRefreshToken(presented)))?.rotated_at !== null,
    count: Number(
      (
        await db
          .selectFrom('refresh_tokens')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    ),
  })

  await t.test('revoked between the read and the spend', async (t) => {
    const { tokens: issued, user } = await login(app)
    const before = await tokenState(issued.refresh_token)
    const refresh = rotation(async (hash: string, trx?: Db) => {
      const found = await tokens.findForRotation(hash, trx)
      // On SQLite the rotation is one transaction on the one connection: the revocation
      // runs in it (and is rolled back with it). On PostgreSQL trx is the database itself:
      // the revocation commits before the spend runs.
      await bumpCredentialVersion(trx ?? db, app.services.revocations, user.id, Date.now())
      return found
    })
    await t.rejects(refresh.rotateRefreshToken(issued.refresh_token), { code: 'invalid_grant' })
    t.same(await tokenState(issued.refresh_token), { ...before, spent: false }, 'nothing spent or added')
  })

  if (database.dialect !== 'postgres') return
  await t.test('revoked by a transaction still open when the spend runs (PostgreSQL)', async (t) => {
    const { tokens: issued, user } = await login(app)
    const before = await tokenState(issued.refresh_token)
    let release!: () => void
    let revoking!: Promise<void>
    const refresh = rotation(async (hash: string, trx?: Db) => {
      const found = await tokens.findForRotation(hash, trx)
      // A password change that has revoked the session but not committed: the spend's
      // touch must wait for it, re-read the row and then spend nothing.
      let bumped!: () => void
      const bumpedOnce = new Promise<void>((resolve) => {
        bumped = resolve
      })
      revoking = db.transaction().execute(async (other) => {
        await bumpCredentialVersion(other, app.services.revocations, user.id, Date.now())
        bumped()
        await new Promise<void>((resolve) => {
          release = resolve
        })
      })
      await bumpedOnce
      setTimeout(() => release(), 300)
      return found
    })
    await t.rejects(refresh.rotateRefreshToken(issued.refresh_token), { code: 'invalid_grant' })
    await revoking
    t.same(await tokenState(issued.refresh_token), { ...before, spent: false }, 'nothing spent or added')
    const session = await db
      .selectFrom('sessions')
      .select('revoked_at')
      .where('user_id', '=', user.id)
      .execute()
    t.ok(
      session.every((s) => s.revoked_at !== null),
      'the revocation committed',
    )
  })
})
