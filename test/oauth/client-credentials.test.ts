import t from 'tap'
import { ADMIN_ENV, adminToken, basic, createClient, form } from '../helpers/admin.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, PASSWORD, signUp } from '../helpers/flows.js'

const BASIC_CHALLENGE = 'Basic realm="badge"'

await eachDialect(t, async (t, dialect) => {
  const { app, clock, database } = await buildTestApp(t, ADMIN_ENV, dialect)
  const admin = await adminToken(app)
  const client = await createClient(app, admin, ['profile:read', 'profile:write'])
  const token = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    form(app, '/oauth/token', fields, headers)
  const claimsOf = async (accessToken: string) =>
    (await app.inject({ url: '/v1/me/claims', headers: bearer(accessToken) })).json()

  await t.test('client_secret_basic: an access token for the client itself, no refresh token', async (t) => {
    const res = await token(
      { grant_type: 'client_credentials' },
      basic(client.client_id, client.client_secret),
    )
    t.equal(res.statusCode, 200)
    t.equal(res.headers['cache-control'], 'no-store')
    const body = res.json()
    t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type'])
    t.equal(body.token_type, 'Bearer')
    t.equal(body.expires_in, 900)
    t.equal(body.scope, 'profile:read profile:write')
    const claims = await claimsOf(body.access_token)
    t.equal(claims.sub, client.client_id)
    t.equal(claims.client_id, client.client_id)
    t.equal(claims.scope, 'profile:read profile:write')
    t.notOk('sid' in claims, 'no session, so no sid')
  })

  await t.test('client_secret_post works with form and JSON bodies', async (t) => {
    const fields = {
      grant_type: 'client_credentials',
      client_id: client.client_id,
      client_secret: client.client_secret,
    }
    t.equal((await token(fields)).statusCode, 200)
    const json = await app.inject({ method: 'POST', url: '/oauth/token', payload: fields })
    t.equal(json.statusCode, 200)
    t.equal((await claimsOf(json.json().access_token)).sub, client.client_id)
  })

  await t.test(
    'Basic credentials are form-urlencoded before encoding, and decoded so (RFC 6749 §2.3.1)',
    async (t) => {
      const percent = (s: string) =>
        [...s].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('')
      const header = `Basic ${Buffer.from(`${percent(client.client_id)}:${percent(client.client_secret)}`).toString('base64')}`
      const res = await token({ grant_type: 'client_credentials' }, { authorization: header })
      t.equal(res.statusCode, 200)
    },
  )

  await t.test('a narrower scope is granted; a scope the client lacks is 400 invalid_scope', async (t) => {
    const auth = basic(client.client_id, client.client_secret)
    const narrow = await token({ grant_type: 'client_credentials', scope: 'profile:read' }, auth)
    t.equal(narrow.json().scope, 'profile:read')
    t.equal((await claimsOf(narrow.json().access_token)).scope, 'profile:read')
    const wider = await token({ grant_type: 'client_credentials', scope: 'profile:read admin' }, auth)
    t.equal(wider.statusCode, 400)
    t.same(wider.json(), { error: 'invalid_scope', error_description: 'Scope not granted: admin.' })
  })

  await t.test(
    'a wrong secret or an unknown client over Basic is 401 invalid_client with a Basic challenge',
    async (t) => {
      const wrongSecret = await token({ grant_type: 'client_credentials' }, basic(client.client_id, 'guess'))
      const unknown = await token(
        { grant_type: 'client_credentials' },
        basic('0'.repeat(32), client.client_secret),
      )
      for (const res of [wrongSecret, unknown]) {
        t.equal(res.statusCode, 401)
        t.equal(res.headers['www-authenticate'], BASIC_CHALLENGE)
        t.same(res.json(), { error: 'invalid_client', error_description: 'Client authentication failed.' })
      }
    },
  )

  await t.test('a wrong secret in the body is 401 invalid_client too', async (t) => {
    const res = await token({
      grant_type: 'client_credentials',
      client_id: client.client_id,
      client_secret: 'guess',
    })
    t.equal(res.statusCode, 401)
    t.equal(res.json().error, 'invalid_client')
    t.equal(res.headers['www-authenticate'], BASIC_CHALLENGE)
  })

  await t.test('client_credentials without client authentication is 401 invalid_client', async (t) => {
    for (const fields of [{}, { client_id: client.client_id }, { client_id: 'some-public-app' }] as Array<
      Record<string, string>
    >) {
      const res = await token({ grant_type: 'client_credentials', ...fields })
      t.equal(res.statusCode, 401, JSON.stringify(fields))
      t.equal(res.json().error, 'invalid_client')
    }
  })

  await t.test('more than one authentication method, or half of one, is 400 invalid_request', async (t) => {
    const auth = basic(client.client_id, client.client_secret)
    const cases: Array<[Record<string, string>, Record<string, string>]> = [
      [{ client_secret: client.client_secret }, auth],
      [{ client_id: client.client_id, client_secret: client.client_secret }, auth],
      [{ client_id: 'someone-else' }, auth],
      [{ client_secret: client.client_secret }, {}],
    ]
    for (const [fields, headers] of cases) {
      const res = await token({ grant_type: 'client_credentials', ...fields }, headers)
      t.equal(res.statusCode, 400, JSON.stringify(fields))
      t.equal(res.json().error, 'invalid_request')
    }
    // The client's own id in the body next to Basic is the same client: fine.
    t.equal(
      (await token({ grant_type: 'client_credentials', client_id: client.client_id }, auth)).statusCode,
      200,
    )
  })

  await t.test('a malformed Basic header is 401 invalid_client', async (t) => {
    for (const authorization of [
      'Basic',
      'Basic !!!',
      `Basic ${Buffer.from('no-colon-here').toString('base64')}`,
      `Basic ${Buffer.from('%zz:secret').toString('base64')}`,
    ]) {
      const res = await token({ grant_type: 'client_credentials' }, { authorization })
      t.equal(res.statusCode, 401, authorization)
      t.equal(res.json().error, 'invalid_client')
      t.equal(res.headers['www-authenticate'], BASIC_CHALLENGE)
    }
  })

  await t.test(
    'a registered client must authenticate to use its client_id on the password grant',
    async (t) => {
      const user = await signUp(app)
      const login = { grant_type: 'password', username: user.email, password: PASSWORD }
      const unauthenticated = await token({ ...login, client_id: client.client_id })
      t.equal(unauthenticated.statusCode, 401)
      t.equal(unauthenticated.json().error, 'invalid_client')
      t.equal(unauthenticated.headers['www-authenticate'], BASIC_CHALLENGE)

      const viaBasic = await token(login, basic(client.client_id, client.client_secret))
      t.equal(viaBasic.statusCode, 200)
      t.equal((await claimsOf(viaBasic.json().access_token)).client_id, client.client_id)
      t.type(viaBasic.json().refresh_token, 'string')
      const viaPost = await token({
        ...login,
        client_id: client.client_id,
        client_secret: client.client_secret,
      })
      t.equal(viaPost.statusCode, 200)
      const wrong = await token(login, basic(client.client_id, 'guess'))
      t.equal(wrong.statusCode, 401)
    },
  )

  await t.test(
    'refreshing a confidential client’s session needs that client, and a refused try spends nothing',
    async (t) => {
      const user = await signUp(app)
      const auth = basic(client.client_id, client.client_secret)
      const login = await token({ grant_type: 'password', username: user.email, password: PASSWORD }, auth)
      const refreshToken: string = login.json().refresh_token
      const refresh = { grant_type: 'refresh_token', refresh_token: refreshToken }

      const anonymous = await token(refresh)
      t.equal(anonymous.statusCode, 401)
      t.equal(anonymous.json().error, 'invalid_client')
      const named = await token({ ...refresh, client_id: client.client_id })
      t.equal(named.statusCode, 401)
      const other = await createClient(app, admin)
      const otherClient = await token(refresh, basic(other.client_id, other.client_secret))
      t.equal(otherClient.statusCode, 400)
      t.same(otherClient.json(), {
        error: 'invalid_grant',
        error_description: 'The refresh token was issued to another client.',
      })
      const publicName = await token({ ...refresh, client_id: 'badge' })
      t.equal(publicName.statusCode, 400)
      t.equal(publicName.json().error, 'invalid_grant')

      // None of those spent the token: the real client, long after any grace window, still refreshes.
      const ok = await token(refresh, auth)
      t.equal(ok.statusCode, 200)
      t.equal((await claimsOf(ok.json().access_token)).client_id, client.client_id)
    },
  )

  await t.test(
    'a public client_id needs no secret, and a refresh naming another client spends nothing',
    async (t) => {
      const user = await signUp(app)
      const login = await token({
        grant_type: 'password',
        username: user.email,
        password: PASSWORD,
        client_id: 'my-app',
      })
      t.equal(login.statusCode, 200)
      t.equal((await claimsOf(login.json().access_token)).client_id, 'my-app')
      const refresh = { grant_type: 'refresh_token', refresh_token: login.json().refresh_token }
      t.equal((await token({ ...refresh, client_id: 'another-app' })).json().error, 'invalid_grant')
      clock.advance(60_000)
      t.equal((await token({ ...refresh, client_id: 'my-app' })).statusCode, 200)
    },
  )

  await t.test('deleting a client ends the sessions users opened through it', async (t) => {
    const doomed = await createClient(app, admin)
    const user = await signUp(app)
    const login = await token(
      { grant_type: 'password', username: user.email, password: PASSWORD },
      basic(doomed.client_id, doomed.client_secret),
    )
    const deleted = await app.inject({
      method: 'DELETE',
      url: `/v1/admin/clients/${doomed.client_id}`,
      headers: bearer(admin),
    })
    t.equal(deleted.statusCode, 204)
    // Its client_id keeps the registered shape, so it is never taken for a public app's
    // name (issue 13): invalid_client. And the session itself is gone.
    const res = await token({ grant_type: 'refresh_token', refresh_token: login.json().refresh_token })
    t.equal(res.statusCode, 401)
    t.equal(res.json().error, 'invalid_client')
    const rows = await database.db
      .selectFrom('sessions')
      .select('revoked_at')
      .where('user_id', '=', user.id)
      .execute()
    t.ok(rows.length === 1 && rows[0]!.revoked_at !== null, 'the session was revoked with the client')
  })
})
