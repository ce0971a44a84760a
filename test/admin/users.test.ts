import t from 'tap'
import { ADMIN_ENV, adminToken } from '../helpers/admin.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, login, PASSWORD, passwordGrant, refreshGrant, signUp } from '../helpers/flows.js'

interface AdminUser {
  id: string
  email: string
  scopes: string[]
  created_at: string
  disabled: boolean
}

await eachDialect(t, async (t, dialect) => {
  const { app, database } = await buildTestApp(t, ADMIN_ENV, dialect)
  const admin = await adminToken(app)
  const as = (token: string) => bearer(token)

  const getUser = (id: string) => app.inject({ url: `/v1/admin/users/${id}`, headers: as(admin) })
  const patchUser = (id: string, payload: object) =>
    app.inject({ method: 'PATCH', url: `/v1/admin/users/${id}`, headers: as(admin), payload })
  const deleteUser = (id: string) =>
    app.inject({ method: 'DELETE', url: `/v1/admin/users/${id}`, headers: as(admin) })

  await t.test('every admin route needs the admin scope', async (t) => {
    const { user, tokens } = await login(app)
    const routes = [
      { method: 'GET', url: '/v1/admin/users' },
      { method: 'GET', url: `/v1/admin/users/${user.id}` },
      { method: 'PATCH', url: `/v1/admin/users/${user.id}`, payload: { disabled: true } },
      { method: 'DELETE', url: `/v1/admin/users/${user.id}` },
    ] as const
    for (const route of routes) {
      const forbidden = await app.inject({ ...route, headers: as(tokens.access_token) })
      t.equal(forbidden.statusCode, 403, `${route.method} ${route.url}`)
      t.equal(forbidden.json().error, 'insufficient_scope')
      t.equal(
        forbidden.headers['www-authenticate'],
        'Bearer realm="badge", error="insufficient_scope", scope="admin"',
      )
      t.equal((await app.inject(route)).statusCode, 401)
    }
    t.equal((await getUser(user.id)).json().disabled, false, 'nothing was changed')
  })

  await t.test('GET /v1/admin/users/{id} is the user with the disabled flag', async (t) => {
    const user = await signUp(app)
    const res = await getUser(user.id)
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.same(Object.keys(body).sort(), [
      'created_at',
      'disabled',
      'email',
      'email_verified',
      'id',
      'name',
      'scopes',
    ])
    t.match(body, {
      id: user.id,
      email: user.email,
      scopes: ['profile:read', 'profile:write'],
      disabled: false,
    })
  })

  await t.test(
    'unknown ids, including ones that are not UUIDs, are 404 not_found on every route',
    async (t) => {
      for (const id of ['00000000-0000-4000-8000-000000000000', 'nope', '9'.repeat(150), "1'%20or%201=1"]) {
        for (const res of [
          await getUser(id),
          await patchUser(id, { disabled: true }),
          await deleteUser(id),
        ]) {
          t.equal(res.statusCode, 404, id)
          t.same(res.json(), { error: 'not_found', error_description: 'No user has this id.' })
        }
      }
    },
  )

  await t.test('PATCH sets scopes from SCOPES; the next login gets exactly those', async (t) => {
    const user = await signUp(app)
    const res = await patchUser(user.id, { scopes: ['profile:read', 'admin', 'admin'] })
    t.equal(res.statusCode, 200)
    t.same(res.json().scopes, ['profile:read', 'admin'])
    const tokens = (await passwordGrant(app, { username: user.email, password: PASSWORD })).json()
    t.equal(tokens.scope, 'profile:read admin')
  })

  await t.test('scopes taken away are gone from the next refresh of an existing session', async (t) => {
    const { user, tokens } = await login(app)
    await patchUser(user.id, { scopes: ['profile:read'] })
    const refreshed = await refreshGrant(app, tokens.refresh_token)
    t.equal(refreshed.statusCode, 200)
    t.equal(refreshed.json().scope, 'profile:read')
  })

  await t.test('a scope not in SCOPES is 400 invalid_scope and changes nothing', async (t) => {
    const user = await signUp(app)
    const res = await patchUser(user.id, { scopes: ['profile:read', 'billing:write'] })
    t.equal(res.statusCode, 400)
    t.same(res.json(), {
      error: 'invalid_scope',
      error_description: 'Unknown scope: billing:write. Known scopes are listed in SCOPES.',
    })
    t.same((await getUser(user.id)).json().scopes, ['profile:read', 'profile:write'])
  })

  await t.test('malformed changes are 400 invalid_request', async (t) => {
    const user = await signUp(app)
    for (const payload of [
      { scopes: 'admin' },
      { scopes: [42] },
      { disabled: 'yes' },
      { email: 'someone@example.com' },
      { scopes: [''] },
    ]) {
      const res = await patchUser(user.id, payload)
      t.equal(res.statusCode, 400, JSON.stringify(payload))
      t.equal(res.json().error, 'invalid_request')
    }
  })

  await t.test(
    'a disabled user gets the same invalid_grant as a wrong password, on login and refresh',
    async (t) => {
      const { user, tokens } = await login(app)
      const res = await patchUser(user.id, { disabled: true })
      t.equal(res.statusCode, 200)
      t.equal(res.json().disabled, true)

      const disabledLogin = await passwordGrant(app, { username: user.email, password: PASSWORD })
      const wrongPassword = await passwordGrant(app, { username: user.email, password: 'wrong password' })
      t.equal(disabledLogin.statusCode, 400)
      t.same(disabledLogin.json(), wrongPassword.json())
      t.same(disabledLogin.json(), {
        error: 'invalid_grant',
        error_description: 'The email or password is incorrect.',
      })

      // Disabling revoked the session: the refresh token is refused like any unknown one.
      const disabledRefresh = await refreshGrant(app, tokens.refresh_token)
      const unknownRefresh = await refreshGrant(app, 'x'.repeat(43))
      t.equal(disabledRefresh.statusCode, 400)
      t.same(disabledRefresh.json(), unknownRefresh.json())
      t.equal(disabledRefresh.json().error, 'invalid_grant')

      const enabled = await patchUser(user.id, { disabled: false })
      t.equal(enabled.json().disabled, false)
      t.equal((await passwordGrant(app, { username: user.email, password: PASSWORD })).statusCode, 200)
      t.equal(
        (await refreshGrant(app, tokens.refresh_token)).statusCode,
        400,
        'revoked sessions stay revoked',
      )
    },
  )

  await t.test('a disabled user cannot refresh even through a session that escaped revocation', async (t) => {
    const { user, tokens } = await login(app)
    // Disable behind the service's back, leaving the session active.
    await database.db
      .updateTable('users')
      .set({ disabled_at: Date.now() })
      .where('id', '=', user.id)
      .execute()
    const res = await refreshGrant(app, tokens.refresh_token)
    t.equal(res.statusCode, 400)
    t.same(res.json(), {
      error: 'invalid_grant',
      error_description: 'The refresh token is invalid, expired or revoked.',
    })
  })

  await t.test('DELETE removes the user with their sessions', async (t) => {
    const { user, tokens } = await login(app)
    const res = await deleteUser(user.id)
    t.equal(res.statusCode, 204)
    t.equal(res.body, '')
    t.equal((await getUser(user.id)).statusCode, 404)
    t.equal((await deleteUser(user.id)).statusCode, 404)
    t.equal((await refreshGrant(app, tokens.refresh_token)).json().error, 'invalid_grant')
    t.equal(
      (await passwordGrant(app, { username: user.email, password: PASSWORD })).json().error,
      'invalid_grant',
    )
    const sessions = await database.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', '=', user.id)
      .execute()
    t.same(sessions, [], 'no session rows are left behind')
    // The email is free again.
    t.equal((await signUp(app, user.email)).email, user.email)
  })

  await t.test('GET /v1/admin/users pages oldest first with an opaque cursor, 20 by default', async (t) => {
    const { app, clock } = await buildTestApp(t, ADMIN_ENV, dialect)
    const admin = await adminToken(app)
    for (let i = 0; i < 24; i++) {
      clock.advance(1)
      await signUp(app)
    }
    const first = await app.inject({ url: '/v1/admin/users', headers: as(admin) })
    t.equal(first.statusCode, 200)
    const page1 = first.json()
    t.equal(page1.items.length, 20)
    t.type(page1.next_cursor, 'string')
    t.same(Object.keys(page1.items[0]).sort(), [
      'created_at',
      'disabled',
      'email',
      'email_verified',
      'id',
      'name',
      'scopes',
    ])
    t.equal(page1.items[0].email, 'root@example.com', 'the bootstrap admin came first')

    const second = await app.inject({
      url: `/v1/admin/users?cursor=${page1.next_cursor}`,
      headers: as(admin),
    })
    const page2 = second.json()
    t.equal(page2.items.length, 5)
    t.equal(page2.next_cursor, null)
    const all: AdminUser[] = [...page1.items, ...page2.items]
    const sorted = [...all].sort((a, b) => a.created_at.localeCompare(b.created_at) || (a.id < b.id ? -1 : 1))
    t.same(
      all.map((u) => u.id),
      sorted.map((u) => u.id),
    )
    t.equal(new Set(all.map((u) => u.id)).size, 25)

    const exact = await app.inject({ url: '/v1/admin/users?limit=25', headers: as(admin) })
    t.equal(exact.json().items.length, 25)
    t.equal(exact.json().next_cursor, null, 'no empty last page when the count divides evenly')
  })

  await t.test('a walk sees every user exactly once while users are added between pages', async (t) => {
    const { app, clock } = await buildTestApp(t, ADMIN_ENV, dialect)
    const admin = await adminToken(app)
    // Most users share one created_at, so the id breaks ties: the hard case for a cursor.
    const t0 = clock()
    const existing = new Set<string>()
    for (let i = 0; i < 30; i++) existing.add((await signUp(app)).id)
    const addedLater = new Set<string>()
    const seen: string[] = []
    let cursor: string | null = null
    let later = t0
    do {
      const query: string = cursor ? `?limit=7&cursor=${cursor}` : '?limit=7'
      const res = await app.inject({ url: `/v1/admin/users${query}`, headers: as(admin) })
      t.equal(res.statusCode, 200)
      const page: { items: AdminUser[]; next_cursor: string | null } = res.json()
      seen.push(...page.items.map((u) => u.id))
      cursor = page.next_cursor
      // Between pages: one user in the middle of the order (same created_at as the rest,
      // so it may fall before or after the cursor) and one at the end.
      clock.set(t0)
      await signUp(app)
      later += 1000
      clock.set(later)
      addedLater.add((await signUp(app)).id)
    } while (cursor !== null)

    t.equal(new Set(seen).size, seen.length, 'no user is seen twice')
    for (const id of existing) t.ok(seen.includes(id), `existing user ${id} is seen`)
    for (const id of addedLater) {
      if (id !== [...addedLater].at(-1)) t.ok(seen.includes(id), `user ${id} added at the end is seen`)
    }
  })

  await t.test('limit must be 1 to 100 and a cursor must be one the server handed out', async (t) => {
    t.equal((await app.inject({ url: '/v1/admin/users?limit=100', headers: as(admin) })).statusCode, 200)
    t.equal((await app.inject({ url: '/v1/admin/users?limit=1', headers: as(admin) })).json().items.length, 1)
    for (const limit of ['0', '101', '-1', '1.5', 'abc', '']) {
      const res = await app.inject({ url: `/v1/admin/users?limit=${limit}`, headers: as(admin) })
      t.equal(res.statusCode, 400, `limit=${limit}`)
      t.equal(res.json().error, 'invalid_request')
    }
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
    for (const cursor of [
      'not a cursor',
      'garbage',
      Buffer.from('hello').toString('base64url'),
      b64([2, 1, 'x']),
      b64([1, 'yesterday', 'x']),
      b64({ createdAt: 1, id: 'x' }),
      'A'.repeat(300),
    ]) {
      const res = await app.inject({
        url: `/v1/admin/users?cursor=${encodeURIComponent(cursor)}`,
        headers: as(admin),
      })
      t.equal(res.statusCode, 400, cursor.slice(0, 40))
      t.equal(res.json().error, 'invalid_request')
    }
  })
})
