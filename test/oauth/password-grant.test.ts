import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, PASSWORD, passwordGrant, signUp, uniqueEmail } from '../helpers/flows.js'

await eachDialect(t, async (t, dialect) => {
  const { app, database } = await buildTestApp(t, {}, dialect)

  await t.test('a correct password returns RFC 6749 tokens with Cache-Control: no-store', async (t) => {
    const user = await signUp(app)
    const res = await passwordGrant(app, { username: user.email, password: PASSWORD })
    t.equal(res.statusCode, 200)
    t.equal(res.headers['cache-control'], 'no-store')
    t.equal(res.headers.pragma, 'no-cache')
    const body = res.json()
    t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type'])
    t.equal(body.token_type, 'Bearer')
    t.equal(body.expires_in, 900)
    t.equal(body.scope, 'profile:read profile:write')
    t.match(body.refresh_token, /^[A-Za-z0-9_-]{43}$/)
  })

  await t.test('the access token is an RFC 9068 JWT with exactly the contract claims', async (t) => {
    const user = await signUp(app)
    const body = (await passwordGrant(app, { username: user.email, password: PASSWORD })).json()
    const [header, payload] = body.access_token
      .split('.')
      .slice(0, 2)
      .map((part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()))
    t.same(Object.keys(header).sort(), ['alg', 'kid', 'typ'])
    t.equal(header.typ, 'at+jwt')
    t.equal(header.alg, 'EdDSA')
    t.same(Object.keys(payload).sort(), [
      'amr',
      'aud',
      'auth_time',
      'client_id',
      'exp',
      'iat',
      'iss',
      'jti',
      'scope',
      'sid',
      'sub',
    ])
    t.equal(payload.sub, user.id)
    t.equal(payload.client_id, 'badge')
  })

  await t.test('JSON bodies work as well as form bodies', async (t) => {
    const user = await signUp(app)
    const res = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: { grant_type: 'password', username: user.email, password: PASSWORD },
    })
    t.equal(res.statusCode, 200)
  })

  await t.test('the refresh token is stored only as a hash', async (t) => {
    const user = await signUp(app)
    const body = (await passwordGrant(app, { username: user.email, password: PASSWORD })).json()
    const rows = await database.db.selectFrom('refresh_tokens').selectAll().execute()
    t.notOk(JSON.stringify(rows).includes(body.refresh_token))
  })

  await t.test('wrong password, unknown email and disabled user give the same invalid_grant', async (t) => {
    const user = await signUp(app)
    const disabled = await signUp(app)
    await database.db
      .updateTable('users')
      .set({ disabled_at: Date.now() })
      .where('id', '=', disabled.id)
      .execute()
    const answers = await Promise.all([
      passwordGrant(app, { username: user.email, password: 'wrong password!' }),
      passwordGrant(app, { username: uniqueEmail('nobody'), password: PASSWORD }),
      passwordGrant(app, { username: disabled.email, password: PASSWORD }),
    ])
    for (const res of answers) {
      t.equal(res.statusCode, 400)
      t.same(res.json(), { error: 'invalid_grant', error_description: 'The email or password is incorrect.' })
      t.equal(res.headers['cache-control'], 'no-store')
    }
  })

  await t.test('the username is matched case-insensitively', async (t) => {
    const user = await signUp(app)
    const res = await passwordGrant(app, { username: ` ${user.email.toUpperCase()} `, password: PASSWORD })
    t.equal(res.statusCode, 200)
  })

  await t.test('a narrower scope is granted; a scope not held is invalid_scope', async (t) => {
    const user = await signUp(app)
    const narrow = await passwordGrant(app, {
      username: user.email,
      password: PASSWORD,
      scope: 'profile:read',
    })
    t.equal(narrow.statusCode, 200)
    t.equal(narrow.json().scope, 'profile:read')
    const write = await app.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: bearer(narrow.json().access_token),
      payload: { name: 'x' },
    })
    t.equal(write.statusCode, 403)
    t.equal(write.json().error, 'insufficient_scope')
    const admin = await passwordGrant(app, {
      username: user.email,
      password: PASSWORD,
      scope: 'profile:read admin',
    })
    t.equal(admin.statusCode, 400)
    t.equal(admin.json().error, 'invalid_scope')
    // A huge unknown scope is named, shortened: the description stays a sentence (≤ 1000).
    const huge = await passwordGrant(app, {
      username: user.email,
      password: PASSWORD,
      scope: 'x'.repeat(1999),
    })
    t.equal(huge.statusCode, 400)
    t.equal(huge.json().error, 'invalid_scope')
    t.ok(huge.json().error_description.length <= 300, huge.json().error_description.slice(0, 40))
  })

  await t.test(
    'missing parameters are invalid_request; unknown grant types are unsupported_grant_type',
    async (t) => {
      const noPassword = await passwordGrant(app, { username: 'a@example.com' })
      t.equal(noPassword.statusCode, 400)
      t.equal(noPassword.json().error, 'invalid_request')
      const noGrant = await app.inject({ method: 'POST', url: '/oauth/token', payload: { username: 'x' } })
      t.equal(noGrant.json().error, 'invalid_request')
      const implicit = await app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: { grant_type: 'implicit' },
      })
      t.equal(implicit.statusCode, 400)
      t.equal(implicit.json().error, 'unsupported_grant_type')
    },
  )

  await t.test('a repeated form parameter is invalid_request (RFC 6749 §3.2)', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=password&username=a@example.com&password=x&password=y',
    })
    t.equal(res.statusCode, 400)
    t.equal(res.json().error, 'invalid_request')
  })

  await t.test('client_id names the app in the token; a malformed one is invalid_request', async (t) => {
    const user = await signUp(app)
    const res = await passwordGrant(app, { username: user.email, password: PASSWORD, client_id: 'ios-app' })
    const claims = JSON.parse(Buffer.from(res.json().access_token.split('.')[1], 'base64url').toString())
    t.equal(claims.client_id, 'ios-app')
    const bad = await passwordGrant(app, {
      username: user.email,
      password: PASSWORD,
      client_id: 'no spaces/allowed',
    })
    t.equal(bad.statusCode, 400)
    t.equal(bad.json().error, 'invalid_request')
  })
})
