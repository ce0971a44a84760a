import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, login, passwordGrant, signUp } from '../helpers/flows.js'

// The series read from their owners at scrape time, per database, through the app's own
// registry (what the METRICS_PORT listener serves; src/server.ts listens for it).

async function scrape(app: FastifyInstance): Promise<Map<string, number>> {
  const text = await app.metrics!.registry.metrics()
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const space = line.lastIndexOf(' ')
    samples.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return samples
}

await eachDialect(t, async (t, dialect) => {
  await t.test('pool, key age, throttled logins and route patterns', async (t) => {
    const { app, clock } = await buildTestApp(
      t,
      { METRICS_PORT: '9464', RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_LOGIN_ACCOUNT: '2/15m' },
      dialect,
    )

    const pool = await scrape(app)
    if (dialect.name === 'postgres') {
      t.ok(pool.has('badge_db_pool_connections{state="in_use"}'), 'the pool in use is exposed')
      t.ok(pool.get('badge_db_pool_connections{state="idle"}')! >= 1, 'connections idle between queries')
      t.equal(pool.get('badge_db_pool_waiting'), 0, 'no query waits for a connection')
    } else {
      t.notOk(pool.has('badge_db_pool_waiting'), 'SQLite has no pool')
    }

    // The key age follows the (injected) clock exactly.
    const age = pool.get('badge_signing_key_age_seconds')!
    clock.advance(3_600_000)
    t.equal((await scrape(app)).get('badge_signing_key_age_seconds')! - age, 3600)

    // Two wrong passwords reach the per-account limit; the third attempt is refused by it.
    const user = await signUp(app)
    for (const expected of [400, 400, 429]) {
      const res = await passwordGrant(app, { username: user.email, password: 'wrong password!' })
      t.equal(res.statusCode, expected)
    }
    const after = await scrape(app)
    t.equal(after.get('badge_login_failures_total{reason="invalid_grant"}'), 2)
    t.equal(after.get('badge_login_failures_total{reason="too_many_requests"}'), 1)
    t.equal(after.get('badge_rate_limited_total{limit="login_account"}'), 1)

    // A path parameter is never a label: the route pattern is.
    const { tokens } = await login(app)
    const id = randomUUID()
    const res = await app.inject({
      method: 'DELETE',
      url: `/v1/me/sessions/${id}`,
      headers: bearer(tokens.access_token),
    })
    t.equal(res.statusCode, 404)
    const text = await app.metrics!.registry.metrics()
    t.match(text, 'badge_http_requests_total{route="/v1/me/sessions/:id",method="DELETE",status="404"} 1')
    t.notOk(text.includes(id), 'the id asked for appears nowhere')
  })
})

t.test('badge_mail_outbox_pending counts mail waiting for an SMTP server that is down', async (t) => {
  // Port 1 on loopback refuses connections: every send fails and the message stays pending.
  const { app } = await buildTestApp(t, { METRICS_PORT: '9464', MAIL_URL: 'smtp://127.0.0.1:1' })
  t.equal((await scrape(app)).get('badge_mail_outbox_pending'), 0)
  await signUp(app)
  await signUp(app)
  t.equal((await scrape(app)).get('badge_mail_outbox_pending'), 2, 'two verification mails wait')
})

t.test('with METRICS_PORT unset there is no registry', async (t) => {
  const { app } = await buildTestApp(t)
  t.equal(app.metrics, undefined)
})
