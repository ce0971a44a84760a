import t from 'tap'
import { form } from '../helpers/admin.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, PASSWORD, refreshGrant, signUp, type TokenBody } from '../helpers/flows.js'

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

await eachDialect(t, async (t, dialect) => {
  const { app, clock } = await buildTestApp(t, {}, dialect)

  async function loginAs(email: string, userAgent = 'test-agent', scope?: string): Promise<TokenBody> {
    const fields = {
      grant_type: 'password',
      username: email,
      password: PASSWORD,
      ...(scope ? { scope } : {}),
    }
    const res = await form(app, '/oauth/token', fields, { 'user-agent': userAgent })
    if (res.statusCode !== 200) throw new Error(`login failed: ${res.body}`)
    return res.json()
  }
  const list = (token: string) => app.inject({ url: '/v1/me/sessions', headers: bearer(token) })
  const revokeOne = (token: string, id: string) =>
    app.inject({ method: 'DELETE', url: `/v1/me/sessions/${id}`, headers: bearer(token) })
  const sidOf = async (token: string): Promise<string> =>
    (await app.inject({ url: '/v1/me/claims', headers: bearer(token) })).json().sid

  await t.test(
    'GET /v1/me/sessions lists active sessions, newest first, marking the current one',
    async (t) => {
      const { email } = await signUp(app)
      const started = clock()
      const laptop = await loginAs(email, 'Laptop/1.0')
      clock.advance(60_000)
      const phone = await loginAs(email, 'Phone/2.0')

      const res = await list(phone.access_token)
      t.equal(res.statusCode, 200)
      const { items } = res.json()
      t.equal(items.length, 2)
      t.same(Object.keys(items[0]).sort(), [
        'client_id',
        'created_at',
        'current',
        'expires_at',
        'id',
        'last_used_at',
        'user_agent',
      ])
      t.same(
        items.map((s: { user_agent: string; current: boolean }) => [s.user_agent, s.current]),
        [
          ['Phone/2.0', true],
          ['Laptop/1.0', false],
        ],
      )
      t.equal(items[0].id, await sidOf(phone.access_token))
      t.equal(items[1].id, await sidOf(laptop.access_token))
      t.equal(items[1].client_id, 'badge')
      for (const field of ['created_at', 'last_used_at', 'expires_at']) t.match(items[1][field], ISO)
      t.equal(items[1].created_at, new Date(started).toISOString())
      // The idle lifetime (14 days) ends before the absolute one (30 days).
      t.equal(items[1].expires_at, new Date(started + 1209600 * 1000).toISOString())

      // The same list, seen from the other session, marks that one current instead.
      const fromLaptop = (await list(laptop.access_token)).json().items
      t.same(
        fromLaptop.map((s: { current: boolean }) => s.current),
        [false, true],
      )
    },
  )

  await t.test('refreshing moves last_used_at and keeps the session current', async (t) => {
    const { email } = await signUp(app)
    const tokens = await loginAs(email)
    clock.advance(120_000)
    const refreshed = (await refreshGrant(app, tokens.refresh_token)).json()
    const [session] = (await list(refreshed.access_token)).json().items
    t.equal(session.last_used_at, new Date(clock()).toISOString())
    t.equal(session.current, true)
  })

  await t.test('another user sees none of your sessions', async (t) => {
    const mine = await loginAs((await signUp(app)).email)
    const theirs = await loginAs((await signUp(app)).email)
    const items = (await list(theirs.access_token)).json().items
    t.equal(items.length, 1)
    t.not(items[0].id, await sidOf(mine.access_token))
  })

  await t.test(
    'DELETE /v1/me/sessions/{id} ends that session: its refresh token stops working',
    async (t) => {
      const { email } = await signUp(app)
      const current = await loginAs(email)
      const other = await loginAs(email)
      const otherSid = await sidOf(other.access_token)

      const res = await revokeOne(current.access_token, otherSid)
      t.equal(res.statusCode, 204)
      t.equal(res.body, '')
      t.equal((await refreshGrant(app, other.refresh_token)).json().error, 'invalid_grant')
      const ids = (await list(current.access_token)).json().items.map((s: { id: string }) => s.id)
      t.same(ids, [await sidOf(current.access_token)])
      t.equal((await refreshGrant(app, current.refresh_token)).statusCode, 200)
      // Deleting an already ended session of yours again changes nothing and is not an error.
      t.equal((await revokeOne(current.access_token, otherSid)).statusCode, 204)
    },
  )

  await t.test('anyone else’s session, an unknown id and a non-UUID are 404 not_found', async (t) => {
    const mine = await loginAs((await signUp(app)).email)
    const theirs = await loginAs((await signUp(app)).email)
    for (const id of [
      await sidOf(theirs.access_token),
      '00000000-0000-4000-8000-000000000000',
      'not-a-uuid',
      'x'.repeat(150),
    ]) {
      const res = await revokeOne(mine.access_token, id)
      t.equal(res.statusCode, 404, id)
      t.same(res.json(), { error: 'not_found', error_description: 'You have no session with this id.' })
    }
    t.equal((await refreshGrant(app, theirs.refresh_token)).statusCode, 200, 'their session lives on')
  })

  await t.test('DELETE /v1/me/sessions logs out everywhere, the calling session included', async (t) => {
    const { email } = await signUp(app)
    const sessions = [await loginAs(email), await loginAs(email), await loginAs(email)]
    const res = await app.inject({
      method: 'DELETE',
      url: '/v1/me/sessions',
      headers: bearer(sessions[0]!.access_token),
    })
    t.equal(res.statusCode, 204)
    for (const s of sessions)
      t.equal((await refreshGrant(app, s.refresh_token)).json().error, 'invalid_grant')
    // The access tokens go too (docs/contract.md §11).
    for (const s of sessions) t.equal((await list(s.access_token)).json().error, 'invalid_token')
  })

  await t.test('?except=current keeps the calling session and ends every other one', async (t) => {
    const { email } = await signUp(app)
    const current = await loginAs(email)
    const others = [await loginAs(email), await loginAs(email)]
    const res = await app.inject({
      method: 'DELETE',
      url: '/v1/me/sessions?except=current',
      headers: bearer(current.access_token),
    })
    t.equal(res.statusCode, 204)
    for (const s of others) t.equal((await refreshGrant(app, s.refresh_token)).json().error, 'invalid_grant')
    t.equal((await refreshGrant(app, current.refresh_token)).statusCode, 200)
  })

  await t.test(
    '?except= with anything but "current" is 400 invalid_request and revokes nothing',
    async (t) => {
      const tokens = await loginAs((await signUp(app)).email)
      const res = await app.inject({
        method: 'DELETE',
        url: '/v1/me/sessions?except=all',
        headers: bearer(tokens.access_token),
      })
      t.equal(res.statusCode, 400)
      t.equal(res.json().error, 'invalid_request')
      t.equal((await refreshGrant(app, tokens.refresh_token)).statusCode, 200)
    },
  )

  await t.test('listing needs profile:read and revoking needs profile:write', async (t) => {
    const { email } = await signUp(app)
    const readOnly = await loginAs(email, 'test-agent', 'profile:read')
    const writeOnly = await loginAs(email, 'test-agent', 'profile:write')
    t.equal((await list(readOnly.access_token)).statusCode, 200)
    const listed = await list(writeOnly.access_token)
    t.equal(listed.statusCode, 403)
    t.equal(listed.json().error, 'insufficient_scope')
    for (const url of ['/v1/me/sessions', `/v1/me/sessions/${await sidOf(writeOnly.access_token)}`]) {
      const res = await app.inject({ method: 'DELETE', url, headers: bearer(readOnly.access_token) })
      t.equal(res.statusCode, 403, url)
      t.equal(
        res.headers['www-authenticate'],
        'Bearer realm="badge", error="insufficient_scope", scope="profile:write"',
      )
    }
    const anonymous = await app.inject({ url: '/v1/me/sessions' })
    t.equal(anonymous.statusCode, 401)
    t.equal(anonymous.json().error, 'unauthorized')
  })
})

await t.test('sessions past their idle lifetime are not listed', async (t) => {
  const { app, clock } = await buildTestApp(t, { REFRESH_TOKEN_IDLE_TTL: '600', REFRESH_TOKEN_TTL: '3600' })
  const { email } = await signUp(app)
  const login = async () =>
    (await form(app, '/oauth/token', { grant_type: 'password', username: email, password: PASSWORD })).json()
  await login()
  clock.advance(400_000)
  const recent = await login()
  clock.advance(300_000) // the first session has now been idle for 700 s > 600 s
  const { items } = (
    await app.inject({ url: '/v1/me/sessions', headers: bearer(recent.access_token) })
  ).json()
  t.equal(items.length, 1)
  t.equal(items[0].current, true)
  t.equal(items[0].expires_at, new Date(clock() - 300_000 + 600_000).toISOString())
})
