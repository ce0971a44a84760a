import t from 'tap'
import { eachDialect } from '../helpers/app.js'
import { PASSWORD, uniqueEmail } from '../helpers/flows.js'
import { buildHttpTestApp, type HttpTestApp } from '../helpers/http-app.js'

// Issue 13 item 2: every password check (the token endpoint and POST /v1/me/password)
// goes through one throttle (users/password-check.ts): the same failed-attempt limits,
// and a fair share of the bcrypt capacity per account and per address, so one user or
// one address flooding wrong passwords cannot make everybody else's login 503.
// Real HTTP, real concurrency, BCRYPT_COST=12; a small queue makes the flood quick.

const ENV = {
  BCRYPT_COST: '12',
  LOGIN_CONCURRENCY: '2',
  LOGIN_QUEUE: '4',
  RATE_LIMIT_ENABLED: 'true',
  RATE_LIMIT_LOGIN_ACCOUNT: '3/15m',
  TRUST_PROXY: 'true',
}

const from = (address: string) => ({ 'x-forwarded-for': address })

async function signUpAndLogin(h: HttpTestApp, address: string) {
  const email = uniqueEmail('throttle')
  const res = await fetch(`${h.base}/v1/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...from(address) },
    body: JSON.stringify({ email, password: PASSWORD }),
  })
  if (res.status !== 201) throw new Error(`sign-up: ${res.status}`)
  const tokens = await h.post(
    '/oauth/token',
    { grant_type: 'password', username: email, password: PASSWORD },
    from(address),
  )
  if (tokens.status !== 200) throw new Error(`login: ${tokens.status}`)
  return { email, token: String(tokens.body.access_token) }
}

const changePassword = (h: HttpTestApp, token: string, address: string, current: string) =>
  fetch(`${h.base}/v1/me/password`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...from(address) },
    body: JSON.stringify({ current_password: current, new_password: 'a brand new passphrase' }),
  }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }))

await eachDialect(t, async (t, dialect) => {
  await t.test(
    'wrong current passwords hit the same failed-attempt limit as the token endpoint',
    async (t) => {
      const h = await buildHttpTestApp(t, ENV, dialect)
      const { email, token } = await signUpAndLogin(h, '198.51.100.1')
      const statuses = []
      for (let i = 0; i < 4; i++)
        statuses.push((await changePassword(h, token, '198.51.100.1', `wrong guess ${i}`)).status)
      t.same(statuses, [400, 400, 400, 429], 'the 4th guess is refused before bcrypt (limit 3)')
      const login = await h.post(
        '/oauth/token',
        { grant_type: 'password', username: email, password: PASSWORD },
        from('198.51.100.1'),
      )
      t.equal(login.status, 429, 'the token endpoint counts the same failures')
    },
  )

  await t.test('40 parallel wrong current passwords by one user do not lock others out', async (t) => {
    const h = await buildHttpTestApp(t, ENV, dialect)
    const attacker = await signUpAndLogin(h, '198.51.100.2')
    const victim = await signUpAndLogin(h, '203.0.113.2')
    const flood = Promise.all(
      Array.from({ length: 40 }, (_, i) => changePassword(h, attacker.token, '198.51.100.2', `guess ${i}`)),
    )
    await new Promise((resolve) => setTimeout(resolve, 20))
    const victimLogin = await h.post(
      '/oauth/token',
      { grant_type: 'password', username: victim.email, password: PASSWORD },
      from('203.0.113.2'),
    )
    const statuses = (await flood).map((r) => r.status)
    t.equal(victimLogin.status, 200, 'another user logs in during the flood')
    t.same(
      statuses.filter((s) => s !== 400 && s !== 429),
      [],
      'the flood gets 400 or 429, never 503',
    )
    t.ok(statuses.filter((s) => s === 429).length >= 36, 'most of the flood is refused at once')
  })

  await t.test('one address spraying many accounts cannot take the whole bcrypt queue', async (t) => {
    const h = await buildHttpTestApp(t, ENV, dialect)
    const victim = await signUpAndLogin(h, '203.0.113.3')
    const spray = Promise.all(
      Array.from({ length: 30 }, () =>
        h.post(
          '/oauth/token',
          { grant_type: 'password', username: uniqueEmail('nobody'), password: 'a wrong password' },
          from('198.51.100.3'),
        ),
      ),
    )
    await new Promise((resolve) => setTimeout(resolve, 20))
    const victimLogin = await h.post(
      '/oauth/token',
      { grant_type: 'password', username: victim.email, password: PASSWORD },
      from('203.0.113.3'),
    )
    const statuses = (await spray).map((r) => r.status)
    t.equal(victimLogin.status, 200, 'a user from another address logs in during the spray')
    t.same(
      statuses.filter((s) => s !== 400 && s !== 429),
      [],
      'the spray gets 400 or 429, never 503',
    )
  })
})
