import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import {
  APP_ORIGIN,
  BROWSER_ENV,
  browserLogin,
  COOKIE,
  cookieLogin,
  cookieRefresh,
  cookieRevoke,
  setCookieValue,
} from '../helpers/browser.js'
import { bearer, login, refreshGrant } from '../helpers/flows.js'

// docs/contract.md §8 cookie delivery: the refresh token lives in an HttpOnly cookie and the
// body never carries it; refresh and revoke read it; the two modes never mix.

const TTL = 2592000
const CLEARED = `${COOKIE}=; Max-Age=0; Path=/oauth; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict`

await eachDialect(t, async (t, dialect) => {
  const { app, clock, database } = await buildTestApp(t, BROWSER_ENV, dialect)
  const sessionOf = (accessToken: string) => {
    const sid = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()).sid as string
    return database.db.selectFrom('sessions').selectAll().where('id', '=', sid).executeTakeFirstOrThrow()
  }

  await t.test(
    'a cookie login returns the access token and sets the refresh token only as the cookie',
    async (t) => {
      const { res, cookie } = await browserLogin(app)
      t.equal(res.statusCode, 200)
      t.same(Object.keys(res.json()).sort(), ['access_token', 'expires_in', 'scope', 'token_type'])
      t.match(cookie, /^[A-Za-z0-9_-]{43}$/)
      t.equal(
        res.headers['set-cookie'],
        `${COOKIE}=${cookie}; Max-Age=${TTL}; Path=/oauth; HttpOnly; Secure; SameSite=Strict`,
      )
      t.equal(res.headers['cache-control'], 'no-store')
      t.equal(res.headers['access-control-allow-origin'], APP_ORIGIN)
      t.equal(res.headers['access-control-allow-credentials'], 'true')
      t.equal((await sessionOf(res.json().access_token)).delivery, 'cookie')
      const me = await app.inject({ url: '/v1/me', headers: bearer(res.json().access_token) })
      t.equal(me.statusCode, 200)
    },
  )

  await t.test(
    'a refresh with only the cookie rotates it and sends the successor back as the cookie',
    async (t) => {
      const { cookie, user } = await browserLogin(app)
      const res = await cookieRefresh(app, cookie)
      t.equal(res.statusCode, 200)
      t.notOk('refresh_token' in res.json())
      const successor = setCookieValue(res)!
      t.match(successor, /^[A-Za-z0-9_-]{43}$/)
      t.not(successor, cookie)
      const me = await app.inject({ url: '/v1/me', headers: bearer(res.json().access_token) })
      t.equal(me.json().id, user.id)
      t.equal((await cookieRefresh(app, successor)).statusCode, 200)
    },
  )

  await t.test("the cookie's Max-Age is the session's remaining absolute life", async (t) => {
    const { cookie } = await browserLogin(app)
    clock.advance(1000 * 1000)
    const res = await cookieRefresh(app, cookie)
    t.equal(res.statusCode, 200)
    t.equal(
      res.headers['set-cookie'],
      `${COOKIE}=${setCookieValue(res)}; Max-Age=${TTL - 1000}; Path=/oauth; HttpOnly; Secure; SameSite=Strict`,
    )
  })

  await t.test(
    'a retry inside the grace window gets the same successor cookie; later it revokes the session',
    async (t) => {
      const { cookie } = await browserLogin(app)
      const first = await cookieRefresh(app, cookie)
      clock.advance(5000)
      const retry = await cookieRefresh(app, cookie)
      t.equal(retry.statusCode, 200)
      t.equal(setCookieValue(retry), setCookieValue(first))
      clock.advance(6000)
      const reuse = await cookieRefresh(app, cookie)
      t.equal(reuse.statusCode, 400)
      t.equal(reuse.json().error, 'invalid_grant')
      t.equal(reuse.headers['set-cookie'], CLEARED)
      t.equal((await cookieRefresh(app, setCookieValue(first))).json().error, 'invalid_grant')
    },
  )

  await t.test('a refused cookie refresh clears the cookie', async (t) => {
    const res = await cookieRefresh(app, 'x'.repeat(43))
    t.equal(res.statusCode, 400)
    t.same(res.json(), {
      error: 'invalid_grant',
      error_description: 'The refresh token is invalid, expired or revoked.',
    })
    t.equal(res.headers['set-cookie'], CLEARED)
  })

  await t.test('a cookie refresh asking for a scope not held is refused and clears the cookie', async (t) => {
    const { cookie } = await browserLogin(app)
    const res = await cookieRefresh(app, cookie, undefined, { scope: 'admin' })
    t.equal(res.statusCode, 400)
    t.equal(res.json().error, 'invalid_scope')
    t.equal(res.headers['set-cookie'], CLEARED)
  })

  await t.test("a revoke without token ends the cookie's session and clears the cookie", async (t) => {
    const { cookie, accessToken } = await browserLogin(app)
    const res = await cookieRevoke(app, cookie)
    t.equal(res.statusCode, 200)
    t.equal(res.headers['set-cookie'], CLEARED)
    t.equal(res.headers['cache-control'], 'no-store')
    t.type((await sessionOf(accessToken)).revoked_at, 'number')
    const refresh = await cookieRefresh(app, cookie)
    t.equal(refresh.json().error, 'invalid_grant')
  })

  await t.test('a revoke or refresh with neither token nor cookie is 400 invalid_request', async (t) => {
    const headerSets: Record<string, string>[] = [{}, { origin: APP_ORIGIN, 'x-badge-csrf': '1' }]
    for (const headers of headerSets) {
      const revoke = await cookieRevoke(app, undefined, headers)
      t.equal(revoke.statusCode, 400)
      t.equal(revoke.json().error, 'invalid_request')
      t.equal(revoke.headers['set-cookie'], undefined)
      const refresh = await cookieRefresh(app, undefined, headers)
      t.equal(refresh.statusCode, 400)
      t.same(refresh.json(), {
        error: 'invalid_request',
        error_description:
          'No refresh token: send refresh_token (body mode) or the refresh-token cookie (browser mode).',
      })
    }
  })

  await t.test("a body session's refresh token is refused from the cookie, and is not spent", async (t) => {
    const { tokens } = await login(app)
    const res = await cookieRefresh(app, tokens.refresh_token)
    t.equal(res.statusCode, 400)
    t.same(res.json(), {
      error: 'invalid_grant',
      error_description: 'This session was started in body mode: send its refresh token as refresh_token.',
    })
    t.equal(res.headers['set-cookie'], CLEARED)
    const body = await refreshGrant(app, tokens.refresh_token)
    t.equal(body.statusCode, 200)
    t.type(body.json().refresh_token, 'string')
  })

  await t.test("a cookie session's refresh token is refused in the body, and is not spent", async (t) => {
    const { cookie } = await browserLogin(app)
    const res = await refreshGrant(app, cookie)
    t.equal(res.statusCode, 400)
    t.same(res.json(), {
      error: 'invalid_grant',
      error_description:
        'This session was started in browser mode: its refresh token is accepted only from the cookie.',
    })
    t.equal((await cookieRefresh(app, cookie)).statusCode, 200)
  })

  await t.test('refresh_token_delivery must agree with where the refresh token is', async (t) => {
    const { cookie } = await browserLogin(app)
    const both = await cookieRefresh(app, cookie, undefined, {
      refresh_token: cookie,
      refresh_token_delivery: 'cookie',
    })
    t.equal(both.statusCode, 400)
    t.equal(both.json().error, 'invalid_request')
    const bodyWithout = await cookieRefresh(app, cookie, undefined, { refresh_token_delivery: 'body' })
    t.equal(bodyWithout.statusCode, 400)
    t.same(bodyWithout.json(), {
      error: 'invalid_request',
      error_description: 'The refresh_token grant needs refresh_token.',
    })
    const explicit = await cookieRefresh(app, cookie, undefined, { refresh_token_delivery: 'cookie' })
    t.equal(explicit.statusCode, 200)
    t.type(setCookieValue(explicit), 'string')
  })

  await t.test('body mode is unchanged: the refresh token is in the body and no cookie is set', async (t) => {
    const { tokens, user } = await login(app)
    t.type(tokens.refresh_token, 'string')
    const explicit = await cookieLogin(app, user.email, {}, { refresh_token_delivery: 'body' })
    t.equal(explicit.statusCode, 200)
    t.type(explicit.json().refresh_token, 'string')
    t.equal(explicit.headers['set-cookie'], undefined)
    const refreshed = await refreshGrant(app, tokens.refresh_token)
    t.equal(refreshed.statusCode, 200)
    t.type(refreshed.json().refresh_token, 'string')
    t.equal(refreshed.headers['set-cookie'], undefined)
  })

  await t.test('a wrong password with cookie delivery is invalid_grant and sets no cookie', async (t) => {
    const { user } = await browserLogin(app)
    const res = await cookieLogin(app, user.email, undefined, { password: 'not the password' })
    t.equal(res.statusCode, 400)
    t.equal(res.json().error, 'invalid_grant')
    t.equal(res.headers['set-cookie'], undefined)
  })
})

await t.test(
  'with COOKIE_SAMESITE=None the cookie is also Partitioned, and cleared the same way',
  async (t) => {
    const { app } = await buildTestApp(t, { ...BROWSER_ENV, COOKIE_SAMESITE: 'None' })
    const { res, cookie } = await browserLogin(app)
    t.equal(
      res.headers['set-cookie'],
      `${COOKIE}=${cookie}; Max-Age=${TTL}; Path=/oauth; HttpOnly; Secure; Partitioned; SameSite=None`,
    )
    const revoke = await cookieRevoke(app, cookie)
    t.equal(
      revoke.headers['set-cookie'],
      `${COOKIE}=; Max-Age=0; Path=/oauth; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; Partitioned; SameSite=None`,
    )
  },
)

await t.test('COOKIE_SAMESITE=Lax sets SameSite=Lax', async (t) => {
  const { app } = await buildTestApp(t, { ...BROWSER_ENV, COOKIE_SAMESITE: 'Lax' })
  const { res, cookie } = await browserLogin(app)
  t.equal(
    res.headers['set-cookie'],
    `${COOKIE}=${cookie}; Max-Age=${TTL}; Path=/oauth; HttpOnly; Secure; SameSite=Lax`,
  )
})

await t.test(
  'a cookie refresh during a database outage is 503 and keeps the cookie for a retry',
  async (t) => {
    const { app, database } = await buildTestApp(t, BROWSER_ENV)
    const { cookie } = await browserLogin(app)
    await database.close()
    const res = await cookieRefresh(app, cookie)
    t.equal(res.statusCode, 503)
    t.equal(res.json().error, 'temporarily_unavailable')
    t.equal(res.headers['set-cookie'], undefined)
  },
)
