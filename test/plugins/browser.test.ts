import { Writable } from 'node:stream'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { browserModeWarnings } from '../../src/plugins/browser.js'
import { TEST_ENV } from '../helpers/app.js'
import { BROWSER_ENV, COOKIE } from '../helpers/browser.js'

// Browser-mode configuration: what is refused at start, what is only warned about,
// and the helper other routes use to clear the caller's cookie.

t.test('CORS_ORIGINS refuses "*" and anything that is not an exact origin', async (t) => {
  for (const value of [
    '*',
    'https://app.example, *',
    'https://app.example/',
    'app.example',
    'https://*.example',
  ]) {
    t.throws(() => loadConfig({ CORS_ORIGINS: value }), ConfigError, value)
  }
  t.throws(() => loadConfig({ CORS_ORIGINS: '*' }), {
    message: 'Invalid configuration: CORS_ORIGINS must list exact origins; "*" is refused',
  })
  t.same(loadConfig({ CORS_ORIGINS: ' https://a.example , http://localhost:5173 ' }).corsOrigins, [
    'https://a.example',
    'http://localhost:5173',
  ])
})

t.test('COOKIE_SAMESITE is Strict by default and accepts only Strict, Lax or None', async (t) => {
  t.equal(loadConfig({}).cookieSameSite, 'Strict')
  t.equal(loadConfig({ COOKIE_SAMESITE: 'None' }).cookieSameSite, 'None')
  t.throws(() => loadConfig({ COOKIE_SAMESITE: 'lax' }), {
    message: 'Invalid configuration: COOKIE_SAMESITE must be Strict, Lax or None',
  })
})

t.test('start-up warnings name the settings that weaken browser mode', async (t) => {
  const warnings = (env: Record<string, string>) => browserModeWarnings(loadConfig(env))
  t.same(warnings({}), [], 'browser mode unused')
  t.same(warnings({ ISSUER: 'http://auth.example.com' }), [], 'plain HTTP without browser mode')
  t.same(warnings({ ...BROWSER_ENV, ISSUER: 'https://auth.example.com' }), [])
  for (const issuer of ['http://localhost:3000', 'http://127.0.0.1:3000', 'http://[::1]:3000']) {
    t.same(warnings({ ...BROWSER_ENV, ISSUER: issuer }), [], issuer)
  }
  const http = warnings({ ...BROWSER_ENV, ISSUER: 'http://auth.example.com' })
  t.equal(http.length, 1)
  t.match(http[0], /^ISSUER is http:\/\/ on auth\.example\.com: browsers refuse the Secure/)
  const none = warnings({ COOKIE_SAMESITE: 'None', ISSUER: 'https://auth.example.com' })
  t.equal(none.length, 1)
  t.match(none[0], /^COOKIE_SAMESITE=None: /)
})

t.test('the warnings are logged when the app starts', async (t) => {
  const lines: { level: number; msg: string }[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)))
      done()
    },
  })
  const config = loadConfig({
    ...TEST_ENV,
    ...BROWSER_ENV,
    COOKIE_SAMESITE: 'None',
    ISSUER: 'http://auth.example.com',
    // Real mail delivery configured, so only browser mode's warnings are expected here
    // (the log: transport's own warning on a non-local ISSUER is tested with the account flows).
    MAIL_URL: 'smtp://127.0.0.1:1',
  })
  const app = await buildApp(config, { logger: { level: 'warn', stream } })
  t.teardown(() => app.close())
  const warned = lines.filter((l) => l.level === 40).map((l) => l.msg.split(':')[0])
  t.same(warned, ['COOKIE_SAMESITE=None', 'ISSUER is http'])
})

t.test(
  'reply.clearRefreshCookie lets any route clear the caller cookie with matching attributes',
  async (t) => {
    for (const [sameSite, attributes] of [
      ['Strict', 'HttpOnly; Secure; SameSite=Strict'],
      ['None', 'HttpOnly; Secure; Partitioned; SameSite=None'],
    ] as const) {
      const config = loadConfig({ ...TEST_ENV, ...BROWSER_ENV, COOKIE_SAMESITE: sameSite })
      const app = await buildApp(config)
      t.teardown(() => app.close())
      app.delete('/test/logout-everywhere', async (_request, reply) =>
        reply.clearRefreshCookie().code(204).send(),
      )
      const res = await app.inject({ method: 'DELETE', url: '/test/logout-everywhere' })
      t.equal(res.statusCode, 204)
      t.equal(
        res.headers['set-cookie'],
        `${COOKIE}=; Max-Age=0; Path=/oauth; Expires=Thu, 01 Jan 1970 00:00:00 GMT; ${attributes}`,
      )
    }
  },
)
