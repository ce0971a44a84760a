import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, login, PASSWORD, passwordGrant, uniqueEmail } from '../helpers/flows.js'

await eachDialect(t, async (t, dialect) => {
  const { app } = await buildTestApp(t, {}, dialect)

  await t.test(
    'signing up trims and lower-cases the email and returns the user without secrets',
    async (t) => {
      const email = uniqueEmail('Ada')
      const res = await app.inject({
        method: 'POST',
        url: '/v1/users',
        payload: { email: `  ${email.toUpperCase()} `, password: PASSWORD, name: ' Ada Lovelace ' },
      })
      t.equal(res.statusCode, 201)
      const user = res.json()
      t.same(Object.keys(user).sort(), ['created_at', 'email', 'email_verified', 'id', 'name', 'scopes'])
      t.equal(user.email, email.toLowerCase())
      t.equal(user.name, 'Ada Lovelace')
      t.same(user.scopes, ['profile:read', 'profile:write'])
      t.match(user.id, /^[0-9a-f-]{36}$/)
      t.notMatch(res.body, /password|hash/i)
    },
  )

  await t.test('a taken email, in any case, is 409 email_taken', async (t) => {
    const email = uniqueEmail()
    await app.inject({ method: 'POST', url: '/v1/users', payload: { email, password: PASSWORD } })
    const res = await app.inject({
      method: 'POST',
      url: '/v1/users',
      payload: { email: email.toUpperCase(), password: PASSWORD },
    })
    t.equal(res.statusCode, 409)
    t.same(res.json(), {
      error: 'email_taken',
      error_description: 'An account with this email already exists.',
    })
  })

  await t.test('invalid sign-ups are 400 invalid_request in the error shape', async (t) => {
    const bad = [
      { email: 'not-an-email', password: PASSWORD },
      { email: uniqueEmail(), password: 'short' },
      { email: uniqueEmail() },
      { password: PASSWORD },
      { email: ['a@example.com'], password: PASSWORD },
      { email: uniqueEmail(), password: 12345678 },
      { email: `${'a'.repeat(400)}@example.com`, password: PASSWORD },
      { email: uniqueEmail(), password: 'x'.repeat(1025) },
    ]
    for (const payload of bad) {
      const res = await app.inject({ method: 'POST', url: '/v1/users', payload })
      t.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 80))
      t.equal(res.json().error, 'invalid_request')
      t.type(res.json().error_description, 'string')
    }
  })

  await t.test('passwords are never truncated: two sharing their first 72 bytes stay distinct', async (t) => {
    const email = uniqueEmail()
    const prefix = 'é'.repeat(40) // 80 bytes in UTF-8, past bcrypt's 72
    const signup = await app.inject({
      method: 'POST',
      url: '/v1/users',
      payload: { email, password: `${prefix}-one` },
    })
    t.equal(signup.statusCode, 201)
    t.equal((await passwordGrant(app, { username: email, password: `${prefix}-two` })).statusCode, 400)
    t.equal((await passwordGrant(app, { username: email, password: `${prefix}-one` })).statusCode, 200)
  })

  await t.test('GET /v1/me returns the caller, PATCH /v1/me changes the name', async (t) => {
    const { user, tokens } = await login(app)
    const me = await app.inject({ url: '/v1/me', headers: bearer(tokens.access_token) })
    t.equal(me.statusCode, 200)
    t.equal(me.json().id, user.id)
    const patched = await app.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: bearer(tokens.access_token),
      payload: { name: 'Grace' },
    })
    t.equal(patched.statusCode, 200)
    t.equal(patched.json().name, 'Grace')
    t.equal((await app.inject({ url: '/v1/me', headers: bearer(tokens.access_token) })).json().name, 'Grace')
  })

  await t.test('GET /v1/me/claims returns the verified claims of the token', async (t) => {
    const { user, tokens } = await login(app)
    const res = await app.inject({ url: '/v1/me/claims', headers: bearer(tokens.access_token) })
    t.equal(res.statusCode, 200)
    const claims = res.json()
    t.equal(claims.sub, user.id)
    t.equal(claims.iss, 'http://badge.test')
    t.equal(claims.aud, 'http://badge.test')
    t.equal(claims.client_id, 'badge')
    t.equal(claims.scope, 'profile:read profile:write')
    t.type(claims.sid, 'string')
    t.equal(claims.exp - claims.iat, 900)
  })
})

await t.test('signup is 403 signup_disabled when SIGNUP_ENABLED=false', async (t) => {
  const { app } = await buildTestApp(t, { SIGNUP_ENABLED: 'false' })
  const res = await app.inject({
    method: 'POST',
    url: '/v1/users',
    payload: { email: uniqueEmail(), password: PASSWORD },
  })
  t.equal(res.statusCode, 403)
  t.equal(res.json().error, 'signup_disabled')
})

await t.test('the bootstrap admin is created once, with the admin scope', async (t) => {
  const env = { BOOTSTRAP_ADMIN_EMAIL: 'Root@Example.com', BOOTSTRAP_ADMIN_PASSWORD: 'bootstrap password' }
  const { app } = await buildTestApp(t, env)
  const res = await passwordGrant(app, { username: 'root@example.com', password: 'bootstrap password' })
  t.equal(res.statusCode, 200)
  t.equal(res.json().scope, 'admin profile:read profile:write')
})
