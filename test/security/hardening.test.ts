import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { generateSigningKey } from '../../src/keys/generate.js'
import { maskUrl } from '../../src/logger.js'
import { ADMIN_ENV, adminToken, basic, createClient, form } from '../helpers/admin.js'
import { buildTestApp, eachDialect, TEST_ENV } from '../helpers/app.js'
import { expectInvalidToken } from '../helpers/attack.js'
import {
  bearer,
  login,
  PASSWORD,
  passwordGrant,
  refreshGrant,
  signUp,
  uniqueEmail,
} from '../helpers/flows.js'
import { accessTokenClaims, accessTokenHeader, serverKey } from '../helpers/forge.js'

// Issue 13, medium item 4 and low items 8–17: one subtest per item, each failing on the
// code before the fix. Items 7 and 1 are in credential-fence.test.ts, 2 in
// password-throttle.test.ts, 3 and 5 in test/db, 6 in rehash.test.ts.

await eachDialect(t, async (t, dialect) => {
  await t.test(
    '4: the JWKS answers with more than 100 published keys; rotation is capped with 409',
    async (t) => {
      const { app, database, clock } = await buildTestApp(t, ADMIN_ENV, dialect)
      const admin = await adminToken(app)
      const rotate = () =>
        app.inject({ method: 'POST', url: '/v1/admin/keys/rotate', headers: bearer(admin) })
      const statuses = []
      for (let i = 0; i < 20; i++) statuses.push((await rotate()).statusCode)
      t.same(statuses, [...Array(19).fill(201), 409], '20 published keys at most: the 20th rotation is 409')
      const refused = await rotate()
      t.equal(refused.json().error, 'conflict')
      // A database that already holds more (rotated before the cap): the JWKS still answers.
      for (let i = 0; i < 90; i++) {
        const key = await generateSigningKey('EdDSA')
        await database.db
          .insertInto('signing_keys')
          .values({
            kid: key.kid,
            alg: 'EdDSA',
            status: 'retiring',
            public_jwk: JSON.stringify(key.publicJwk),
            private_jwk: JSON.stringify(key.privateJwk),
            created_at: clock(),
            activated_at: clock(),
            retiring_at: clock(),
            retired_at: null,
          })
          .execute()
      }
      t.equal((await rotate()).statusCode, 409, 'still capped (and the key set is reloaded)')
      const jwks = await app.inject({ url: '/.well-known/jwks.json' })
      t.equal(jwks.statusCode, 200)
      t.equal(jwks.json().keys.length, 110, 'every published key is served')
    },
  )

  await t.test('8: a forged cursor holding a NUL is 400 invalid_request', async (t) => {
    const { app } = await buildTestApp(t, ADMIN_ENV, dialect)
    const admin = await adminToken(app)
    const cursor = Buffer.from(JSON.stringify([1, 1, 'a\u0000b'])).toString('base64url')
    const res = await app.inject({ url: `/v1/admin/users?cursor=${cursor}`, headers: bearer(admin) })
    t.equal(res.statusCode, 400)
    t.equal(res.json().error, 'invalid_request')
  })

  await t.test("9: a disabled user's still-valid token cannot PATCH /v1/me", async (t) => {
    const { app } = await buildTestApp(t, ADMIN_ENV, dialect)
    const admin = await adminToken(app)
    const { user, tokens } = await login(app)
    const off = await app.inject({
      method: 'PATCH',
      url: `/v1/admin/users/${user.id}`,
      headers: bearer(admin),
      payload: { disabled: true },
    })
    t.equal(off.statusCode, 200)
    const res = await app.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: bearer(tokens.access_token),
      payload: { name: 'still here' },
    })
    // The disable revoked the token at once (docs/revocation.md): 401, like any revoked token.
    t.equal(res.statusCode, 401, 'refused like GET /v1/me')
    t.equal(res.json().error, 'invalid_token')
    const shown = await app.inject({ url: `/v1/admin/users/${user.id}`, headers: bearer(admin) })
    t.equal(shown.json().name, null, 'the name was not changed')
  })

  await t.test('10: a scope removed from SCOPES is no longer granted to users who hold it', async (t) => {
    const { app, database } = await buildTestApp(t, {}, dialect)
    const user = await signUp(app)
    await database.db
      .updateTable('users')
      .set({ scopes: 'profile:read profile:write legacy:power' })
      .where('id', '=', user.id)
      .execute()
    const res = await passwordGrant(app, { username: user.email, password: PASSWORD })
    t.equal(res.statusCode, 200)
    t.equal(res.json().scope, 'profile:read profile:write', 'legacy:power is not in SCOPES')
    const asked = await passwordGrant(app, {
      username: user.email,
      password: PASSWORD,
      scope: 'legacy:power',
    })
    t.equal(asked.statusCode, 400)
    t.equal(asked.json().error, 'invalid_scope')
  })

  await t.test('11: sessions per user are capped, oldest ended first', async (t) => {
    const { app, clock } = await buildTestApp(t, { MAX_SESSIONS_PER_USER: '3' }, dialect)
    const user = await signUp(app)
    const refresh: string[] = []
    for (let i = 0; i < 5; i++) {
      clock.advance(1000)
      const res = await passwordGrant(app, { username: user.email, password: PASSWORD })
      refresh.push(res.json().refresh_token)
    }
    t.equal((await refreshGrant(app, refresh[0]!)).statusCode, 400, 'the oldest session was ended')
    t.equal((await refreshGrant(app, refresh[1]!)).statusCode, 400, 'and the next oldest')
    for (const token of refresh.slice(2)) t.equal((await refreshGrant(app, token)).statusCode, 200)
  })

  await t.test('11: successful logins count in the per-address limit', async (t) => {
    const { app } = await buildTestApp(
      t,
      { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_LOGIN_ADDRESS: '3/15m' },
      dialect,
    )
    const user = await signUp(app)
    const statuses = []
    for (let i = 0; i < 4; i++)
      statuses.push((await passwordGrant(app, { username: user.email, password: PASSWORD })).statusCode)
    t.same(statuses, [200, 200, 200, 429])
  })

  await t.test('12: the minimum password length counts the stored (NFC) form', async (t) => {
    const { app } = await buildTestApp(t, {}, dialect)
    // Four "é" as e + combining acute: 8 code points as sent, 4 once normalized.
    const password = 'e\u0301'.repeat(4)
    const res = await app.inject({
      method: 'POST',
      url: '/v1/users',
      payload: { email: uniqueEmail(), password },
    })
    t.equal(res.statusCode, 400)
    t.equal(res.json().error, 'invalid_request')
  })

  await t.test('13: error_description stays within 1000 characters and summarises', async (t) => {
    const { app } = await buildTestApp(t, {}, dialect)
    const user = await signUp(app)
    const scope = Array.from({ length: 400 }, (_, i) => `s${i}`).join(' ')
    const res = await passwordGrant(app, { username: user.email, password: PASSWORD, scope })
    t.equal(res.statusCode, 400)
    const { error, error_description } = res.json()
    t.equal(error, 'invalid_scope')
    t.ok(error_description.length <= 1000, `bounded (${error_description.length})`)
    t.match(error_description, /400 scopes: s0, s1, s2…/)
  })

  await t.test('15: introspection hides refresh tokens of another registered client', async (t) => {
    const { app } = await buildTestApp(t, ADMIN_ENV, dialect)
    const admin = await adminToken(app)
    const a = await createClient(app, admin, ['profile:read'], 'client a')
    const b = await createClient(app, admin, ['profile:read'], 'client b')
    const user = await signUp(app)
    const viaA = await form(
      app,
      '/oauth/token',
      { grant_type: 'password', username: user.email, password: PASSWORD },
      basic(a.client_id, a.client_secret),
    )
    t.equal(viaA.statusCode, 200)
    const refreshToken = viaA.json().refresh_token
    const ask = (client: typeof a) =>
      form(app, '/oauth/introspect', { token: refreshToken }, basic(client.client_id, client.client_secret))
    t.same((await ask(b)).json(), { active: false }, 'client B learns nothing')
    t.equal((await ask(a)).json().active, true, 'client A sees its own token')
  })

  await t.test('15: an access token whose session was revoked is inactive at introspection', async (t) => {
    const { app } = await buildTestApp(t, ADMIN_ENV, dialect)
    const admin = await adminToken(app)
    const rs = await createClient(app, admin, ['profile:read'], 'resource server')
    const { tokens } = await login(app)
    const ask = () =>
      form(app, '/oauth/introspect', { token: tokens.access_token }, basic(rs.client_id, rs.client_secret))
    t.equal((await ask()).json().active, true, 'control')
    t.equal((await form(app, '/oauth/revoke', { token: tokens.refresh_token })).statusCode, 200)
    t.same((await ask()).json(), { active: false })
  })

  await t.test('15: only its client revokes a token bound to a registered client', async (t) => {
    const { app } = await buildTestApp(t, ADMIN_ENV, dialect)
    const admin = await adminToken(app)
    const a = await createClient(app, admin, ['profile:read'], 'client a')
    const b = await createClient(app, admin, ['profile:read'], 'client b')
    const user = await signUp(app)
    const viaA = await form(
      app,
      '/oauth/token',
      { grant_type: 'password', username: user.email, password: PASSWORD },
      basic(a.client_id, a.client_secret),
    )
    const { refresh_token, access_token } = viaA.json()
    for (const [label, headers] of [
      ['client B', basic(b.client_id, b.client_secret)],
      ['an anonymous caller', {}],
    ] as const) {
      t.equal((await form(app, '/oauth/revoke', { token: refresh_token }, headers)).statusCode, 200, label)
      t.equal((await form(app, '/oauth/revoke', { token: access_token }, headers)).statusCode, 200, label)
    }
    const introspected = await form(
      app,
      '/oauth/introspect',
      { token: refresh_token },
      basic(a.client_id, a.client_secret),
    )
    t.equal(introspected.json().active, true, 'the session is still alive')
    t.equal(
      (await form(app, '/oauth/revoke', { token: refresh_token }, basic(a.client_id, a.client_secret)))
        .statusCode,
      200,
    )
    const after = await form(
      app,
      '/oauth/introspect',
      { token: refresh_token },
      basic(a.client_id, a.client_secret),
    )
    t.same(after.json(), { active: false }, 'client A itself can revoke it')
  })

  await t.test(
    "16: a deleted client's id is not usable, and a client's scopes cap the password grant",
    async (t) => {
      const { app } = await buildTestApp(t, ADMIN_ENV, dialect)
      const admin = await adminToken(app)
      const user = await signUp(app)
      const client = await createClient(app, admin, ['profile:read'])
      const through = await form(
        app,
        '/oauth/token',
        { grant_type: 'password', username: user.email, password: PASSWORD },
        basic(client.client_id, client.client_secret),
      )
      t.equal(through.statusCode, 200)
      t.equal(through.json().scope, 'profile:read', "capped by the client's scopes")
      const deleted = await app.inject({
        method: 'DELETE',
        url: `/v1/admin/clients/${client.client_id}`,
        headers: bearer(admin),
      })
      t.equal(deleted.statusCode, 204)
      const res = await passwordGrant(app, {
        username: user.email,
        password: PASSWORD,
        client_id: client.client_id,
      })
      t.equal(res.statusCode, 401)
      t.equal(res.json().error, 'invalid_client')
    },
  )

  await t.test('17: the last admin cannot drop their own admin scope', async (t) => {
    const { app } = await buildTestApp(t, ADMIN_ENV, dialect)
    const admin = await adminToken(app)
    const me = await app.inject({ url: '/v1/me', headers: bearer(admin) })
    const res = await app.inject({
      method: 'PATCH',
      url: `/v1/admin/users/${me.json().id}`,
      headers: bearer(admin),
      payload: { scopes: ['profile:read', 'profile:write'] },
    })
    t.equal(res.statusCode, 409)
    t.equal(res.json().error, 'conflict')
    const other = await signUp(app)
    const promoted = await app.inject({
      method: 'PATCH',
      url: `/v1/admin/users/${other.id}`,
      headers: bearer(admin),
      payload: { scopes: ['admin', 'profile:read'] },
    })
    t.equal(promoted.statusCode, 200)
    const again = await app.inject({
      method: 'PATCH',
      url: `/v1/admin/users/${me.json().id}`,
      headers: bearer(admin),
      payload: { scopes: ['profile:read', 'profile:write'] },
    })
    t.equal(again.statusCode, 200, 'allowed once another admin exists')
  })

  await t.test('17: an exp that is not a whole number is refused', async (t) => {
    const { app } = await buildTestApp(t, {}, dialect)
    const key = await serverKey(app)
    const now = Math.floor(Date.now() / 1000)
    for (const exp of [now + 600.5, 1e300]) {
      const token = key.sign(accessTokenHeader(key), accessTokenClaims(app, { exp }))
      await expectInvalidToken(t, app, token, `exp ${exp}`)
    }
  })
})

t.test('14: BOOTSTRAP_ADMIN_EMAIL is validated at start', async (t) => {
  const env = (email: string) => ({
    ...TEST_ENV,
    BOOTSTRAP_ADMIN_EMAIL: email,
    BOOTSTRAP_ADMIN_PASSWORD: PASSWORD,
  })
  t.throws(() => loadConfig(env(`${'a'.repeat(250)}@example.com`)), /BOOTSTRAP_ADMIN_EMAIL/)
  t.throws(() => loadConfig(env('not an email')), /BOOTSTRAP_ADMIN_EMAIL/)
  t.ok(loadConfig(env('Root@Example.com ')).bootstrapAdmin, 'a normal address is fine')
})

t.test('17: percent-encoded token parameter names are masked in logged URLs', async (t) => {
  const url = maskUrl('/v1/me?ACCESS%5FTOKEN=eyJ.secret.sig&refresh%5ftoken=r3fr3sh&x=1')
  t.notMatch(url, /eyJ|secret|r3fr3sh/)
  t.match(url, /x=1/)
})
