import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { ADMIN_ENV, adminToken, basic, createClient, form } from '../helpers/admin.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, login, PASSWORD, passwordGrant, refreshGrant, type TokenBody } from '../helpers/flows.js'

// Every event that must cut off access tokens before they expire (docs/contract.md §11)
// is refused at once by the instance that wrote it, on both dialects: the old access
// token is 401 invalid_token, introspection says inactive, and the event is in the feed.

async function me(app: FastifyInstance, token: string) {
  const res = await app.inject({ url: '/v1/me', headers: bearer(token) })
  return { status: res.statusCode, error: res.statusCode === 200 ? undefined : res.json().error }
}

const REFUSED = { status: 401, error: 'invalid_token' }
const ACCEPTED = { status: 200, error: undefined }

await eachDialect(t, async (t, dialect) => {
  const { app, clock, database } = await buildTestApp(
    t,
    { ...ADMIN_ENV, MAX_SESSIONS_PER_USER: '2', REFRESH_REUSE_GRACE_SECONDS: '0' },
    dialect,
  )
  const admin = await adminToken(app)
  const client = await createClient(app, admin, ['profile:read'], 'introspecting service')
  const introspect = async (token: string) =>
    (await form(app, '/oauth/introspect', { token }, basic(client.client_id, client.client_secret))).json()
  const loginAgain = async (email: string) =>
    (await passwordGrant(app, { username: email, password: PASSWORD })).json() as TokenBody
  const feed = () => database.db.selectFrom('revocations').selectAll().orderBy('seq').execute()

  await t.test('POST /oauth/revoke of a refresh token refuses its access tokens', async (t) => {
    const { tokens } = await login(app)
    t.same(await me(app, tokens.access_token), ACCEPTED, 'valid before')
    t.equal((await introspect(tokens.access_token)).active, true)
    await form(app, '/oauth/revoke', { token: tokens.refresh_token })
    t.same(await me(app, tokens.access_token), REFUSED)
    t.same(await introspect(tokens.access_token), { active: false })
  })

  await t.test('DELETE /v1/me/sessions/:id refuses that session’s access tokens only', async (t) => {
    const { user, tokens } = await login(app)
    const other = await loginAgain(user.email)
    const sessions = await app.inject({ url: '/v1/me/sessions', headers: bearer(tokens.access_token) })
    const otherId = sessions.json().items.find((s: { current: boolean }) => !s.current).id
    const res = await app.inject({
      method: 'DELETE',
      url: `/v1/me/sessions/${otherId}`,
      headers: bearer(tokens.access_token),
    })
    t.equal(res.statusCode, 204)
    t.same(await me(app, other.access_token), REFUSED)
    t.same(await me(app, tokens.access_token), ACCEPTED, 'the calling session goes on')
  })

  await t.test('log out everywhere refuses every session’s access tokens', async (t) => {
    const { user, tokens } = await login(app)
    const other = await loginAgain(user.email)
    const res = await app.inject({
      method: 'DELETE',
      url: '/v1/me/sessions',
      headers: bearer(tokens.access_token),
    })
    t.equal(res.statusCode, 204)
    t.same(await me(app, tokens.access_token), REFUSED)
    t.same(await me(app, other.access_token), REFUSED)
  })

  await t.test('a reused refresh token ends its session and refuses its access tokens', async (t) => {
    const { tokens } = await login(app)
    const next = (await refreshGrant(app, tokens.refresh_token)).json() as TokenBody
    clock.advance(1000)
    t.equal((await refreshGrant(app, tokens.refresh_token)).json().error, 'invalid_grant', 'reuse detected')
    t.same(await me(app, next.access_token), REFUSED)
    t.same(await me(app, tokens.access_token), REFUSED)
  })

  await t.test('the session cap ends the oldest session and refuses its access tokens', async (t) => {
    const { user, tokens } = await login(app)
    clock.advance(1000)
    const second = await loginAgain(user.email)
    clock.advance(1000)
    const third = await loginAgain(user.email)
    t.same(await me(app, tokens.access_token), REFUSED, 'the oldest of three, with a cap of two')
    t.same(await me(app, second.access_token), ACCEPTED)
    t.same(await me(app, third.access_token), ACCEPTED)
  })

  await t.test('a password change refuses every old access token; a new login works at once', async (t) => {
    const { user, tokens } = await login(app)
    const res = await app.inject({
      method: 'POST',
      url: '/v1/me/password',
      headers: bearer(tokens.access_token),
      payload: { current_password: PASSWORD, new_password: 'a brand new passphrase' },
    })
    t.equal(res.statusCode, 204)
    t.same(await me(app, tokens.access_token), REFUSED)
    t.same(await introspect(tokens.access_token), { active: false })
    const fresh = (
      await passwordGrant(app, { username: user.email, password: 'a brand new passphrase' })
    ).json()
    t.same(await me(app, fresh.access_token), ACCEPTED, 'issued in the same second, after the change')
  })

  await t.test('disabling a user refuses their access tokens', async (t) => {
    const { user, tokens } = await login(app)
    const res = await app.inject({
      method: 'PATCH',
      url: `/v1/admin/users/${user.id}`,
      headers: bearer(admin),
      payload: { disabled: true },
    })
    t.equal(res.statusCode, 200)
    t.same(await me(app, tokens.access_token), REFUSED)
  })

  await t.test('deleting a user refuses their access tokens; an unknown id records nothing', async (t) => {
    const { user, tokens } = await login(app)
    const before = (await feed()).length
    const unknown = await app.inject({
      method: 'DELETE',
      url: '/v1/admin/users/00000000-0000-4000-8000-000000000000',
      headers: bearer(admin),
    })
    t.equal(unknown.statusCode, 404)
    t.equal((await feed()).length, before, 'no entry for an unknown user')
    const res = await app.inject({
      method: 'DELETE',
      url: `/v1/admin/users/${user.id}`,
      headers: bearer(admin),
    })
    t.equal(res.statusCode, 204)
    t.same(await me(app, tokens.access_token), REFUSED)
    const added = (await feed()).slice(before)
    t.same(
      added.map((r) => [r.type, r.subject]).sort(),
      [
        ['session', (await sidOf(tokens.access_token)) ?? ''],
        ['user', user.id],
      ].sort(),
      'the session and the user, written with the deletion',
    )
  })

  await t.test('an entry whose notification was lost is applied by the catch-up read', async (t) => {
    const { tokens } = await login(app)
    t.same(await me(app, tokens.access_token), ACCEPTED)
    // Written as another instance would, with no message to this one.
    const now = clock()
    await database.db
      .insertInto('revocations')
      .values({
        type: 'session',
        subject: (await sidOf(tokens.access_token)) ?? '',
        at: now,
        created_at: now,
        expires_at: now + 905_000,
      })
      .execute()
    t.same(await me(app, tokens.access_token), ACCEPTED, 'not known here yet')
    await app.services.revocations.sync()
    t.same(await me(app, tokens.access_token), REFUSED)
  })

  await t.test('entries are purged once no access token they concern can be unexpired', async (t) => {
    t.ok((await feed()).length > 0)
    clock.advance((900 + 10) * 1000)
    await app.services.revocations.purge()
    t.same(await feed(), [])
    t.equal(app.services.revocations.set.size, 0, 'forgotten in memory too')
  })
})

async function sidOf(token: string): Promise<string | undefined> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid
}
