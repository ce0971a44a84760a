import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createDatabase } from '../../src/db/index.js'
import { TEST_ENV } from '../helpers/app.js'
import { testClock } from '../helpers/clock.js'
import { dialects, POSTGRES_SKIP_REASON } from '../helpers/databases.js'
import { bearer, login, PASSWORD, refreshGrant, uniqueEmail } from '../helpers/flows.js'
import { type ProxyMode, startTcpProxy, viaProxy } from '../helpers/net.js'

// docs/contract.md §6 and issue 4: while PostgreSQL is unreachable, bearer checks, the JWKS and
// the metadata keep answering from memory; whatever needs the database answers 503
// temporarily_unavailable promptly (never a hang, never a 500 with a driver message);
// everything recovers by itself when the database returns. The database sits behind
// a TCP proxy the test cuts: 'reset' is a stopped server, 'blackhole' a silent network.

const postgres = dialects.find((d) => d.name === 'postgres')

/** The usual error shape, with nothing of the driver in it. */
export function assertUnavailable(
  t: Test,
  res: LightMyRequestResponse | { statusCode: number; body: string; headers: Record<string, unknown> },
  what: string,
) {
  t.equal(res.statusCode, 503, what)
  const body = JSON.parse(res.body)
  t.same(Object.keys(body).sort(), ['error', 'error_description'], what)
  t.equal(body.error, 'temporarily_unavailable', what)
  t.notMatch(body.error_description, /ECONN|terminated|timeout|pg|sql|select|connect/i, what)
  t.match(String(res.headers['retry-after']), /^[1-9][0-9]*$/, what)
}

async function waitUntilReady(app: FastifyInstance): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if ((await app.inject({ url: '/health/ready' })).statusCode === 200) return true
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return false
}

if (!postgres) {
  t.test('postgres', { skip: POSTGRES_SKIP_REASON }, async () => {})
} else {
  for (const mode of ['reset', 'blackhole'] as ProxyMode[]) {
    await t.test(`database outage (${mode})`, async (t) => {
      const { url, drop } = await postgres.create()
      t.teardown(drop)
      const target = new URL(url)
      const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
      t.teardown(() => proxy.close())
      // A short timeout keeps the blackhole case quick; production uses 5 s.
      const database = createDatabase({ url: viaProxy(url, proxy), poolMax: 4, statementTimeout: 1000 })
      t.teardown(() => database.close())
      const config = loadConfig({ ...TEST_ENV, DATABASE_URL: url })
      const app = await buildApp(config, { database, clock: testClock() })
      t.teardown(() => app.close())

      const { user, tokens } = await login(app)
      const jwks = (await app.inject({ url: '/.well-known/jwks.json' })).json()
      proxy.set(mode)

      await t.test('bearer checks, JWKS, metadata and liveness answer from memory', async (t) => {
        const claims = await app.inject({ url: '/v1/me/claims', headers: bearer(tokens.access_token) })
        t.equal(claims.statusCode, 200)
        t.equal(claims.json().sub, user.id)
        const keys = await app.inject({ url: '/.well-known/jwks.json' })
        t.equal(keys.statusCode, 200)
        t.same(keys.json(), jwks)
        t.equal((await app.inject({ url: '/.well-known/oauth-authorization-server' })).statusCode, 200)
        t.equal((await app.inject({ url: '/health/live' })).statusCode, 200)
        const forged = await app.inject({ url: '/v1/me/claims', headers: bearer(`${tokens.access_token}x`) })
        t.equal(forged.statusCode, 401, 'bad tokens are still refused')
      })

      await t.test('readiness and everything that needs the database are 503', async (t) => {
        assertUnavailable(t, await app.inject({ url: '/health/ready' }), 'ready')
        assertUnavailable(t, await refreshGrant(app, tokens.refresh_token), 'refresh')
        assertUnavailable(
          t,
          await app.inject({
            method: 'POST',
            url: '/oauth/token',
            payload: { grant_type: 'password', username: user.email, password: PASSWORD },
          }),
          'password grant',
        )
        assertUnavailable(
          t,
          await app.inject({
            method: 'POST',
            url: '/v1/users',
            payload: { email: uniqueEmail(), password: PASSWORD },
          }),
          'sign-up',
        )
        assertUnavailable(t, await app.inject({ url: '/v1/me', headers: bearer(tokens.access_token) }), 'me')
        assertUnavailable(
          t,
          await app.inject({
            method: 'POST',
            url: '/oauth/revoke',
            payload: { token: tokens.refresh_token },
          }),
          'revoke',
        )
      })

      await t.test('when the database returns, everything recovers without a restart', async (t) => {
        proxy.set('forward')
        t.ok(await waitUntilReady(app), 'ready again')
        const refreshed = await refreshGrant(app, tokens.refresh_token)
        t.equal(refreshed.statusCode, 200, 'the refresh token survived the outage')
        t.equal((await app.inject({ url: '/v1/me', headers: bearer(tokens.access_token) })).statusCode, 200)
        t.equal((await login(app)).tokens.token_type, 'Bearer')
      })
    })
  }
}
