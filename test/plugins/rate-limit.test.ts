import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { PASSWORD, signUp, uniqueEmail } from '../helpers/flows.js'

// docs/contract.md §7: failed logins limited per (account, address) and per address; per-address
// limits on the token, signup and revoke endpoints; 429 too_many_requests with Retry-After.

const LIMITS = { RATE_LIMIT_ENABLED: 'true' }

function loginFrom(app: FastifyInstance, address: string, username: string, password: string, headers = {}) {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    remoteAddress: address,
    headers,
    payload: { grant_type: 'password', username, password },
  })
}

async function failLogins(app: FastifyInstance, address: string, email: string, times: number) {
  for (let i = 0; i < times; i++) {
    const res = await loginFrom(app, address, email, `wrong password ${i}`)
    if (res.statusCode !== 400) throw new Error(`failure ${i + 1} was ${res.statusCode} ${res.body}`)
  }
}

function assertTooManyRequests(t: Test, res: Awaited<ReturnType<FastifyInstance['inject']>>) {
  t.equal(res.statusCode, 429)
  t.equal(res.json().error, 'too_many_requests')
  t.type(res.json().error_description, 'string')
  t.same(Object.keys(res.json()).sort(), ['error', 'error_description'])
  t.match(res.headers['retry-after'], /^[1-9][0-9]*$/)
}

await eachDialect(t, async (t, dialect) => {
  await t.test(
    'with the default limits, the 11th failed login for one account and address is 429',
    async (t) => {
      const { app } = await buildTestApp(t, LIMITS, dialect)
      const { email } = await signUp(app)
      await failLogins(app, '198.51.100.7', email, 10)
      const refused = await loginFrom(app, '198.51.100.7', email, 'yet another guess')
      assertTooManyRequests(t, refused)
      t.ok(Number(refused.headers['retry-after']) <= 15 * 60, 'retry within the 15-minute window')
      // The headers describe the failed-login limit that answered, not the token endpoint's 300/1m.
      t.equal(refused.headers['x-ratelimit-limit'], '10')
      t.equal(refused.headers['x-ratelimit-remaining'], '0')
      t.equal(refused.headers['x-ratelimit-reset'], refused.headers['retry-after'])
      // Even the right password waits: otherwise the 11th guess could be the one that works.
      assertTooManyRequests(t, await loginFrom(app, '198.51.100.7', email, PASSWORD))
    },
  )

  await t.test('a locked account still signs in from another address', async (t) => {
    const { app } = await buildTestApp(t, LIMITS, dialect)
    const { email } = await signUp(app)
    await failLogins(app, '198.51.100.7', email, 10)
    t.equal((await loginFrom(app, '198.51.100.7', email, PASSWORD)).statusCode, 429)
    t.equal((await loginFrom(app, '203.0.113.9', email, PASSWORD)).statusCode, 200)
  })

  await t.test('other accounts sign in from the address of a locked account', async (t) => {
    const { app } = await buildTestApp(t, LIMITS, dialect)
    const victim = await signUp(app)
    await failLogins(app, '198.51.100.7', victim.email, 10)
    for (let i = 0; i < 5; i++) {
      const other = await signUp(app)
      t.equal((await loginFrom(app, '198.51.100.7', other.email, PASSWORD)).statusCode, 200)
    }
  })

  await t.test('unknown emails are limited exactly like real ones', async (t) => {
    const { app } = await buildTestApp(t, LIMITS, dialect)
    const ghost = uniqueEmail('ghost')
    await failLogins(app, '198.51.100.7', ghost, 10)
    assertTooManyRequests(t, await loginFrom(app, '198.51.100.7', ghost, PASSWORD))
  })

  await t.test('the limit lifts when the window has passed', async (t) => {
    const { app, clock } = await buildTestApp(t, LIMITS, dialect)
    const { email } = await signUp(app)
    await failLogins(app, '198.51.100.7', email, 10)
    t.equal((await loginFrom(app, '198.51.100.7', email, PASSWORD)).statusCode, 429)
    clock.advance(15 * 60 * 1000 + 1)
    t.equal((await loginFrom(app, '198.51.100.7', email, PASSWORD)).statusCode, 200)
  })

  await t.test('a successful login forgets the account’s earlier failures', async (t) => {
    const { app } = await buildTestApp(t, LIMITS, dialect)
    const { email } = await signUp(app)
    await failLogins(app, '198.51.100.7', email, 9)
    t.equal((await loginFrom(app, '198.51.100.7', email, PASSWORD)).statusCode, 200)
    await failLogins(app, '198.51.100.7', email, 10)
    t.equal((await loginFrom(app, '198.51.100.7', email, PASSWORD)).statusCode, 429)
  })

  await t.test('parallel guesses cannot slip past the limit', async (t) => {
    const { app } = await buildTestApp(t, LIMITS, dialect)
    const { email } = await signUp(app)
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => loginFrom(app, '198.51.100.7', email, `guess ${i}`)),
    )
    const codes = results.map((r) => r.statusCode)
    // At most 10 are checked; the account's fair share of bcrypt (users/password-check.ts)
    // may refuse more of the burst at once, also with 429.
    const checked = codes.filter((c) => c === 400).length
    t.ok(checked >= 1 && checked <= 10, `at most 10 guesses were checked (${checked})`)
    t.equal(codes.filter((c) => c === 429).length, 30 - checked)
  })

  await t.test('failures across many accounts from one address hit the per-address cap', async (t) => {
    const { app } = await buildTestApp(t, { ...LIMITS, RATE_LIMIT_LOGIN_ADDRESS: '5/15m' }, dialect)
    for (let i = 0; i < 5; i++) await failLogins(app, '198.51.100.7', uniqueEmail('spray'), 1)
    const user = await signUp(app)
    const refused = await loginFrom(app, '198.51.100.7', user.email, PASSWORD)
    assertTooManyRequests(t, refused)
    t.equal(refused.headers['x-ratelimit-limit'], '5', 'the per-address limit answered')
    t.equal((await loginFrom(app, '203.0.113.9', user.email, PASSWORD)).statusCode, 200)
  })

  await t.test('IPv6 clients are counted per /64', async (t) => {
    const { app } = await buildTestApp(t, LIMITS, dialect)
    const { email } = await signUp(app)
    for (let i = 1; i <= 10; i++) {
      t.equal((await loginFrom(app, `2001:db8:1:2::${i.toString(16)}`, email, 'wrong')).statusCode, 400)
    }
    t.equal((await loginFrom(app, '2001:db8:1:2:ffff::1', email, PASSWORD)).statusCode, 429, 'same /64')
    t.equal((await loginFrom(app, '2001:db8:1:3::1', email, PASSWORD)).statusCode, 200, 'next /64')
  })

  await t.test('without TRUST_PROXY, X-Forwarded-For does not change which address counts', async (t) => {
    const { app } = await buildTestApp(t, LIMITS, dialect)
    const { email } = await signUp(app)
    for (let i = 1; i <= 10; i++) {
      const res = await loginFrom(app, '10.0.0.1', email, 'wrong', { 'x-forwarded-for': `192.0.2.${i}` })
      t.equal(res.statusCode, 400)
    }
    const res = await loginFrom(app, '10.0.0.1', email, PASSWORD, { 'x-forwarded-for': '192.0.2.99' })
    t.equal(res.statusCode, 429)
  })

  await t.test('with TRUST_PROXY, the client named by the proxy counts', async (t) => {
    const { app } = await buildTestApp(t, { ...LIMITS, TRUST_PROXY: '10.0.0.1' }, dialect)
    const { email } = await signUp(app)
    for (let i = 1; i <= 10; i++) {
      const res = await loginFrom(app, '10.0.0.1', email, 'wrong', { 'x-forwarded-for': '192.0.2.1' })
      t.equal(res.statusCode, 400)
    }
    const viaProxy = (client: string) =>
      loginFrom(app, '10.0.0.1', email, PASSWORD, { 'x-forwarded-for': client })
    t.equal((await viaProxy('192.0.2.1')).statusCode, 429)
    t.equal((await viaProxy('192.0.2.2')).statusCode, 200)
    // An untrusted peer cannot pick its address by sending the header itself.
    const spoofed = await loginFrom(app, '10.9.9.9', email, PASSWORD, { 'x-forwarded-for': '192.0.2.3' })
    t.equal(spoofed.statusCode, 200)
  })

  await t.test('sign-up is limited per address', async (t) => {
    const { app } = await buildTestApp(t, { ...LIMITS, RATE_LIMIT_SIGNUP: '3/1h' }, dialect)
    const signup = (address: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/users',
        remoteAddress: address,
        payload: { email: uniqueEmail(), password: PASSWORD },
      })
    for (let i = 0; i < 3; i++) t.equal((await signup('198.51.100.7')).statusCode, 201)
    const refused = await signup('198.51.100.7')
    assertTooManyRequests(t, refused)
    t.ok(Number(refused.headers['retry-after']) <= 3600)
    t.equal((await signup('203.0.113.9')).statusCode, 201)
  })

  await t.test('the token endpoint is limited per address, whatever the grant', async (t) => {
    const { app } = await buildTestApp(t, { ...LIMITS, RATE_LIMIT_TOKEN: '4/1m' }, dialect)
    const refresh = () =>
      app.inject({
        method: 'POST',
        url: '/oauth/token',
        remoteAddress: '198.51.100.7',
        payload: { grant_type: 'refresh_token', refresh_token: 'not-a-real-token' },
      })
    for (let i = 0; i < 4; i++) t.equal((await refresh()).statusCode, 400)
    assertTooManyRequests(t, await refresh())
  })

  await t.test('the revocation endpoint is limited per address', async (t) => {
    const { app } = await buildTestApp(t, { ...LIMITS, RATE_LIMIT_REVOKE: '3/1m' }, dialect)
    const revoke = () =>
      app.inject({
        method: 'POST',
        url: '/oauth/revoke',
        remoteAddress: '198.51.100.7',
        payload: { token: 'not-a-real-token' },
      })
    for (let i = 0; i < 3; i++) t.equal((await revoke()).statusCode, 200)
    assertTooManyRequests(t, await revoke())
  })

  await t.test('with RATE_LIMIT_ENABLED=false nothing is limited', async (t) => {
    const { app } = await buildTestApp(t, { RATE_LIMIT_ENABLED: 'false', RATE_LIMIT_TOKEN: '3/1m' }, dialect)
    const { email } = await signUp(app)
    await failLogins(app, '198.51.100.7', email, 15)
    t.equal((await loginFrom(app, '198.51.100.7', email, PASSWORD)).statusCode, 200)
  })
})
