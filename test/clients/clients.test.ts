import { createHash } from 'node:crypto'
import t from 'tap'
import { ADMIN_ENV, adminToken, basic, createClient, form } from '../helpers/admin.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, login } from '../helpers/flows.js'

await eachDialect(t, async (t, dialect) => {
  const { app, clock, database } = await buildTestApp(t, ADMIN_ENV, dialect)
  const admin = await adminToken(app)
  const clientCredentials = (id: string, secret: string) =>
    form(app, '/oauth/token', { grant_type: 'client_credentials' }, basic(id, secret))

  await t.test('POST /v1/admin/clients returns the new client with its secret, once', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/admin/clients',
      headers: bearer(admin),
      payload: { name: '  billing service ', scopes: ['profile:read'] },
    })
    t.equal(res.statusCode, 201)
    t.equal(res.headers['cache-control'], 'no-store')
    const client = res.json()
    t.same(Object.keys(client).sort(), ['client_id', 'client_secret', 'created_at', 'name', 'scopes'])
    t.match(client.client_id, /^[A-Za-z0-9._:-]{1,64}$/)
    // 43 base64url characters carry 258 bits: at least 256 bits of randomness.
    t.match(client.client_secret, /^[A-Za-z0-9_-]{43}$/)
    t.equal(client.name, 'billing service')
    t.same(client.scopes, ['profile:read'])
    t.match(client.created_at, /^\d{4}-\d\d-\d\dT/)
    t.equal((await clientCredentials(client.client_id, client.client_secret)).statusCode, 200)
  })

  await t.test('the secret is stored only as its SHA-256 hash', async (t) => {
    const client = await createClient(app, admin)
    const row = await database.db
      .selectFrom('clients')
      .selectAll()
      .where('client_id', '=', client.client_id)
      .executeTakeFirstOrThrow()
    t.equal(row.secret_hash, createHash('sha256').update(client.client_secret).digest('hex'))
    t.notMatch(JSON.stringify(row), client.client_secret)
  })

  await t.test('GET /v1/admin/clients lists clients oldest first, never with secrets', async (t) => {
    const a = await createClient(app, admin, ['profile:read'], 'first')
    clock.advance(1000)
    const b = await createClient(app, admin, ['profile:read', 'profile:write'], 'second')
    const res = await app.inject({ url: '/v1/admin/clients', headers: bearer(admin) })
    t.equal(res.statusCode, 200)
    const items: Array<{ client_id: string }> = res.json().items
    const ids = items.map((c) => c.client_id)
    t.ok(ids.indexOf(a.client_id) < ids.indexOf(b.client_id))
    t.same(
      items.find((c) => c.client_id === b.client_id),
      {
        client_id: b.client_id,
        name: 'second',
        scopes: ['profile:read', 'profile:write'],
        created_at: b.created_at,
      },
    )
    t.notMatch(res.body, /secret|hash/)
    t.notMatch(res.body, a.client_secret)
  })

  await t.test('a scope not in SCOPES is 400 invalid_scope', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/admin/clients',
      headers: bearer(admin),
      payload: { name: 'x', scopes: ['profile:read', 'payments'] },
    })
    t.equal(res.statusCode, 400)
    t.same(res.json(), {
      error: 'invalid_scope',
      error_description: 'Unknown scope: payments. Known scopes are listed in SCOPES.',
    })
  })

  await t.test('a client with no scopes (introspection only) can be created and introspects', async (t) => {
    const client = await createClient(app, admin, [], 'introspector')
    t.same(client.scopes, [])
    const { tokens } = await login(app)
    const res = await form(
      app,
      '/oauth/introspect',
      { token: tokens.access_token },
      basic(client.client_id, client.client_secret),
    )
    t.equal(res.statusCode, 200)
    t.equal(res.json().active, true)
    const own = await clientCredentials(client.client_id, client.client_secret)
    t.equal(own.statusCode, 200, 'its own tokens carry no scope')
    t.equal(own.json().scope, '')
  })

  await t.test('malformed client bodies are 400 invalid_request', async (t) => {
    for (const payload of [
      {},
      { name: 'x' },
      { name: '   ', scopes: ['profile:read'] },
      { name: 'x', scopes: 'profile:read' },
      { name: 'x'.repeat(201), scopes: ['profile:read'] },
      { name: 'x', scopes: ['profile:read'], client_secret: 'chosen by me' },
    ]) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/admin/clients',
        headers: bearer(admin),
        payload,
      })
      t.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 60))
      t.equal(res.json().error, 'invalid_request')
    }
  })

  await t.test(
    'DELETE /v1/admin/clients/{id} deletes it: its credentials stop working at once',
    async (t) => {
      const client = await createClient(app, admin)
      const res = await app.inject({
        method: 'DELETE',
        url: `/v1/admin/clients/${client.client_id}`,
        headers: bearer(admin),
      })
      t.equal(res.statusCode, 204)
      t.equal(res.body, '')
      const list = await app.inject({ url: '/v1/admin/clients', headers: bearer(admin) })
      t.notMatch(list.body, client.client_id)
      const token = await clientCredentials(client.client_id, client.client_secret)
      t.equal(token.statusCode, 401)
      t.equal(token.json().error, 'invalid_client')
      const again = await app.inject({
        method: 'DELETE',
        url: `/v1/admin/clients/${client.client_id}`,
        headers: bearer(admin),
      })
      t.equal(again.statusCode, 404)
      t.same(again.json(), { error: 'not_found', error_description: 'No client has this id.' })
    },
  )

  await t.test('client administration needs the admin scope', async (t) => {
    const { tokens } = await login(app)
    for (const route of [
      { method: 'POST', url: '/v1/admin/clients', payload: { name: 'x', scopes: ['profile:read'] } },
      { method: 'GET', url: '/v1/admin/clients' },
      { method: 'DELETE', url: '/v1/admin/clients/abc' },
    ] as const) {
      const res = await app.inject({ ...route, headers: bearer(tokens.access_token) })
      t.equal(res.statusCode, 403, `${route.method} ${route.url}`)
      t.equal(res.json().error, 'insufficient_scope')
    }
  })
})
