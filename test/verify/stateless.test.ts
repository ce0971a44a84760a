import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, login, PASSWORD, passwordGrant } from '../helpers/flows.js'

// docs/contract.md §6: checking a request touches no database, so it keeps working while the
// database is down.

await eachDialect(t, async (t, dialect) => {
  await t.test('the bearer check sends zero queries', async (t) => {
    const { app, database } = await buildTestApp(t, { VERIFY_CACHE_SIZE: '0' }, dialect)
    const { tokens } = await login(app)
    const before = database.queryCount()
    for (let i = 0; i < 25; i++) {
      const res = await app.inject({ url: '/v1/me/claims', headers: bearer(tokens.access_token) })
      t.equal(res.statusCode, 200)
    }
    t.equal(database.queryCount(), before, 'no query for 25 uncached checks')
    await app.inject({ url: '/v1/me', headers: bearer(tokens.access_token) })
    t.equal(database.queryCount(), before + 1, 'the counter does count: /v1/me itself reads the user once')
  })

  await t.test(
    'with the database gone, valid tokens still pass and database routes answer 503',
    async (t) => {
      const { app, database } = await buildTestApp(t, {}, dialect)
      const { user, tokens } = await login(app)
      await database.close()

      const claims = await app.inject({ url: '/v1/me/claims', headers: bearer(tokens.access_token) })
      t.equal(claims.statusCode, 200, 'a valid token is never 401 because the database is down')
      t.equal(claims.json().sub, user.id)

      const me = await app.inject({ url: '/v1/me', headers: bearer(tokens.access_token) })
      t.equal(me.statusCode, 503)
      t.equal(me.json().error, 'temporarily_unavailable')
      t.ok(me.headers['retry-after'])

      const forged = await app.inject({ url: '/v1/me/claims', headers: bearer(`${tokens.access_token}x`) })
      t.equal(forged.statusCode, 401, 'and a bad token is still refused')

      const token = await passwordGrant(app, { username: user.email, password: PASSWORD })
      t.equal(token.statusCode, 503)
      t.equal(token.json().error, 'temporarily_unavailable')
      t.notMatch(token.body, /sqlite|pg|driver|destroyed|stack/i)

      t.equal(
        (await app.inject({ url: '/.well-known/jwks.json' })).statusCode,
        200,
        'JWKS served from memory',
      )
      t.equal((await app.inject({ url: '/.well-known/oauth-authorization-server' })).statusCode, 200)
      t.equal((await app.inject({ url: '/health/live' })).statusCode, 200)
      const ready = await app.inject({ url: '/health/ready' })
      t.equal(ready.statusCode, 503)
      t.equal(ready.json().error, 'temporarily_unavailable')
    },
  )
})
