import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import {
  APP_ORIGIN,
  BROWSER_ENV,
  browserLogin,
  cookieLogin,
  cookieRefresh,
  cookieRevoke,
  fromApp,
  setCookieValue,
} from '../helpers/browser.js'
import { bearer, signUp, uniqueEmail } from '../helpers/flows.js'

// docs/contract.md §8 CSRF and CORS: every request that sets or uses the refresh cookie
// needs a trusted Origin and X-Badge-CSRF: 1, and is refused cross-site from an
// unlisted origin; CORS answers exactly the listed origins on /oauth/* and /v1/*.

const HOSTILE = 'https://evil.example'
const ISSUER_ORIGIN = 'http://badge.test'

const rejected = (description: string) => ({ error: 'csrf_rejected', error_description: description })
const NO_ORIGIN = rejected('Requests that use the refresh-token cookie must carry an Origin header.')
const UNLISTED = rejected('This origin may not use the refresh-token cookie: it is not in CORS_ORIGINS.')
const NO_HEADER = rejected('Requests that use the refresh-token cookie must send the header X-Badge-CSRF: 1.')
const CROSS_SITE = rejected('Cross-site requests may use the refresh-token cookie only from CORS_ORIGINS.')

/** Header sets a hostile or careless caller sends, with the error each must get. */
const refusals: [string, Record<string, string>, object][] = [
  ['a missing Origin', { 'x-badge-csrf': '1' }, NO_ORIGIN],
  ['an unlisted Origin', { origin: HOSTILE, 'x-badge-csrf': '1', 'sec-fetch-site': 'cross-site' }, UNLISTED],
  ['Origin: null (sandboxed frames, data: URLs)', { origin: 'null', 'x-badge-csrf': '1' }, UNLISTED],
  ['a listed Origin without X-Badge-CSRF', { origin: APP_ORIGIN, 'sec-fetch-site': 'same-site' }, NO_HEADER],
  ['X-Badge-CSRF other than 1', { origin: APP_ORIGIN, 'x-badge-csrf': 'true' }, NO_HEADER],
  [
    "Sec-Fetch-Site: cross-site claiming Badge's own (unlisted) origin",
    { origin: ISSUER_ORIGIN, 'x-badge-csrf': '1', 'sec-fetch-site': 'cross-site' },
    CROSS_SITE,
  ],
]

await eachDialect(t, async (t, dialect) => {
  const { app } = await buildTestApp(t, BROWSER_ENV, dialect)

  await t.test(
    'a cookie login is refused without a trusted Origin and X-Badge-CSRF (login CSRF)',
    async (t) => {
      const user = await signUp(app, uniqueEmail())
      for (const [what, headers, error] of refusals) {
        const res = await cookieLogin(app, user.email, headers)
        t.equal(res.statusCode, 403, what)
        t.same(res.json(), error, what)
        t.equal(res.headers['set-cookie'], undefined, what)
      }
    },
  )

  await t.test(
    'a cookie refresh is refused the same way, and neither spends nor clears the cookie',
    async (t) => {
      const { cookie } = await browserLogin(app)
      for (const [what, headers, error] of refusals) {
        const res = await cookieRefresh(app, cookie, headers)
        t.equal(res.statusCode, 403, what)
        t.same(res.json(), error, what)
        t.equal(res.headers['set-cookie'], undefined, what)
      }
      t.equal((await cookieRefresh(app, cookie)).statusCode, 200, 'the session is intact')
    },
  )

  await t.test('a cookie revoke is refused the same way, and the session survives', async (t) => {
    const { cookie } = await browserLogin(app)
    for (const [what, headers, error] of refusals) {
      const res = await cookieRevoke(app, cookie, headers)
      t.equal(res.statusCode, 403, what)
      t.same(res.json(), error, what)
      t.equal(res.headers['set-cookie'], undefined, what)
    }
    t.equal((await cookieRefresh(app, cookie)).statusCode, 200, 'the session is intact')
  })

  await t.test('a hostile form post (no CSRF header, form-encoded) with the cookie is refused', async (t) => {
    const { cookie } = await browserLogin(app)
    const res = await cookieRevoke(app, cookie, { origin: HOSTILE, 'sec-fetch-site': 'cross-site' })
    t.equal(res.statusCode, 403)
    t.same(res.json(), UNLISTED)
    t.equal(res.headers['access-control-allow-origin'], undefined)
    t.equal((await cookieRefresh(app, cookie)).statusCode, 200)
  })

  await t.test('a refusal to a listed origin carries CORS headers so the app can read it', async (t) => {
    const { cookie } = await browserLogin(app)
    const res = await cookieRefresh(app, cookie, { origin: APP_ORIGIN })
    t.equal(res.statusCode, 403)
    t.equal(res.headers['access-control-allow-origin'], APP_ORIGIN)
    t.equal(res.headers['access-control-allow-credentials'], 'true')
  })

  await t.test('a listed origin may call cross-site (SameSite=None deployments)', async (t) => {
    const { cookie } = await browserLogin(app)
    const res = await cookieRefresh(app, cookie, { ...fromApp(), 'sec-fetch-site': 'cross-site' })
    t.equal(res.statusCode, 200)
  })

  await t.test("Badge's own origin may use the cookie same-origin without CORS", async (t) => {
    const user = await signUp(app, uniqueEmail())
    const own = { origin: ISSUER_ORIGIN, 'x-badge-csrf': '1', 'sec-fetch-site': 'same-origin' }
    const res = await cookieLogin(app, user.email, own)
    t.equal(res.statusCode, 200)
    t.equal(res.headers['access-control-allow-origin'], undefined)
    const refresh = await cookieRefresh(app, setCookieValue(res), own)
    t.equal(refresh.statusCode, 200)
  })

  await t.test('body-mode requests need no Origin or CSRF header (curl, mobile apps)', async (t) => {
    const user = await signUp(app, uniqueEmail())
    const res = await cookieLogin(app, user.email, {}, { refresh_token_delivery: 'body' })
    t.equal(res.statusCode, 200)
  })
})

await t.test('CORS preflight', async (t) => {
  const { app } = await buildTestApp(t, BROWSER_ENV)
  const preflight = (url: string, origin: string) =>
    app.inject({
      method: 'OPTIONS',
      url,
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-badge-csrf',
      },
    })

  await t.test('a listed origin is allowed with credentials on /oauth/* and /v1/*', async (t) => {
    for (const url of ['/oauth/token', '/oauth/revoke', '/v1/me', '/v1/me/sessions']) {
      const res = await preflight(url, APP_ORIGIN)
      t.equal(res.statusCode, 204, url)
      t.equal(res.headers['access-control-allow-origin'], APP_ORIGIN, url)
      t.equal(res.headers['access-control-allow-credentials'], 'true', url)
      t.equal(res.headers['access-control-allow-methods'], 'GET, HEAD, POST, PATCH, DELETE', url)
      t.equal(
        res.headers['access-control-allow-headers'],
        'Authorization, Content-Type, X-Badge-CSRF, DPoP',
        url,
      )
      t.equal(res.headers['access-control-max-age'], '600', url)
      t.match(res.headers.vary, /Origin/, url)
    }
    const second = await preflight('/oauth/token', 'https://other-app.example')
    t.equal(second.headers['access-control-allow-origin'], 'https://other-app.example')
  })

  await t.test(
    'an unlisted origin gets no CORS headers, so the browser never sends the request',
    async (t) => {
      for (const origin of [HOSTILE, 'https://app.example.evil.example', 'http://app.example', 'null']) {
        const res = await preflight('/oauth/token', origin)
        t.equal(res.statusCode, 404, origin)
        t.equal(res.headers['access-control-allow-origin'], undefined, origin)
        t.equal(res.headers['access-control-allow-credentials'], undefined, origin)
      }
    },
  )

  await t.test('paths outside /oauth/* and /v1/* get no CORS headers', async (t) => {
    const res = await preflight('/health/live', APP_ORIGIN)
    t.equal(res.statusCode, 404)
    t.equal(res.headers['access-control-allow-origin'], undefined)
  })

  await t.test('actual responses echo only a listed origin', async (t) => {
    const { accessToken } = await browserLogin(app)
    const listed = await app.inject({
      url: '/v1/me',
      headers: { ...bearer(accessToken), origin: APP_ORIGIN },
    })
    t.equal(listed.statusCode, 200)
    t.equal(listed.headers['access-control-allow-origin'], APP_ORIGIN)
    t.equal(listed.headers['access-control-allow-credentials'], 'true')
    t.equal(listed.headers['access-control-expose-headers'], 'WWW-Authenticate, Retry-After, DPoP-Nonce')
    const hostile = await app.inject({ url: '/v1/me', headers: { ...bearer(accessToken), origin: HOSTILE } })
    t.equal(hostile.statusCode, 200)
    t.equal(hostile.headers['access-control-allow-origin'], undefined)
  })
})

await t.test('without CORS_ORIGINS no origin gets CORS headers', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({
    method: 'OPTIONS',
    url: '/oauth/token',
    headers: { origin: APP_ORIGIN, 'access-control-request-method': 'POST' },
  })
  t.equal(res.statusCode, 404)
  t.equal(res.headers['access-control-allow-origin'], undefined)
  const login = await cookieLogin(app, (await signUp(app, uniqueEmail())).email)
  t.equal(login.statusCode, 403)
  t.same(login.json(), UNLISTED)
})
