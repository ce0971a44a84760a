import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { ADMIN_ENV, adminToken, createClient } from '../helpers/admin.js'
import { checkResponsesAgainstOpenApi, eachDialect, TEST_ENV } from '../helpers/app.js'
import { testClock } from '../helpers/clock.js'
import { openTestDatabase } from '../helpers/databases.js'
import { bearer, PASSWORD, type TokenBody, uniqueEmail } from '../helpers/flows.js'

// docs/audit.md, Audit log: every security event of a full flow is recorded exactly
// once, with who, whom, from where and with which User-Agent, never with a secret; the
// same events are structured log lines; users read only their own history.

const UA = 'audit-test-agent/1.0'
const ADDRESS = '203.0.113.7'

interface Event {
  id: string
  type: string
  at: string
  actor: string | null
  user_id: string | null
  client_id: string | null
  ip: string | null
  user_agent: string | null
  details: Record<string, unknown>
}

async function allEvents(app: FastifyInstance, token: string, query = ''): Promise<Event[]> {
  const events: Event[] = []
  let cursor: string | null = null
  do {
    const res: LightMyRequestResponse = await app.inject({
      url: `/v1/admin/audit?limit=4${query}${cursor ? `&cursor=${cursor}` : ''}`,
      headers: bearer(token),
    })
    if (res.statusCode !== 200) throw new Error(`audit list failed: ${res.statusCode} ${res.body}`)
    events.push(...res.json().items)
    cursor = res.json().next_cursor
  } while (cursor)
  return events
}

await eachDialect(t, async (t, dialect) => {
  const lines: string[] = []
  const database = await openTestDatabase(t, dialect)
  const clock = testClock()
  const config = loadConfig({ ...TEST_ENV, ...ADMIN_ENV, LOG_LEVEL: 'info', DATABASE_URL: database.url })
  const app = await buildApp(config, { database, clock, logStream: { write: (line) => lines.push(line) } })
  checkResponsesAgainstOpenApi(t, app)
  t.teardown(() => app.close())

  const secrets: string[] = [PASSWORD]
  const keep = (body: TokenBody) => {
    secrets.push(body.access_token, body.refresh_token)
    return body
  }
  // Every request comes from one address and User-Agent, one second after the last.
  const send = (options: InjectOptions) => {
    clock.advance(1000)
    return app.inject({
      ...options,
      remoteAddress: ADDRESS,
      headers: { 'user-agent': UA, ...(options.headers as Record<string, string>) },
    })
  }
  const token = async (fields: Record<string, string>) =>
    send({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(fields).toString(),
    })
  const login = async (email: string, password = PASSWORD) => {
    const res = await token({ grant_type: 'password', username: email, password })
    t.equal(res.statusCode, 200, 'login')
    return keep(res.json())
  }

  const admin = await adminToken(app)
  const adminId = JSON.parse(Buffer.from(admin.split('.')[1]!, 'base64url').toString()).sub as string
  secrets.push(admin)

  // The user's whole life, one event each.
  const email = uniqueEmail('audited')
  const signup = await send({ method: 'POST', url: '/v1/users', payload: { email, password: PASSWORD } })
  t.equal(signup.statusCode, 201)
  const userId = signup.json().id as string
  const first = await login(email)
  const wrongPassword = 'not the password, never stored'
  secrets.push(wrongPassword)
  t.equal((await token({ grant_type: 'password', username: email, password: wrongPassword })).statusCode, 400)
  const rotated = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token })
  t.equal(rotated.statusCode, 200)
  keep(rotated.json())
  clock.advance(20_000) // past REFRESH_REUSE_GRACE_SECONDS
  const reused = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token })
  t.equal(reused.statusCode, 400, 'the spent token is refused')
  const second = await login(email)
  const sid2 = JSON.parse(Buffer.from(second.access_token.split('.')[1]!, 'base64url').toString()).sid
  t.equal(
    (await send({ method: 'DELETE', url: `/v1/me/sessions/${sid2}`, headers: bearer(second.access_token) }))
      .statusCode,
    204,
  )
  const third = await login(email)
  const revoked = await send({
    method: 'POST',
    url: '/oauth/revoke',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token: third.refresh_token }).toString(),
  })
  t.equal(revoked.statusCode, 200)
  const fourth = await login(email)
  t.equal(
    (await send({ method: 'DELETE', url: '/v1/me/sessions', headers: bearer(fourth.access_token) }))
      .statusCode,
    204,
  )
  // Logging out everywhere cut off the caller's own access token too (docs/revocation.md).
  const fifth = await login(email)
  t.equal(
    (
      await send({
        method: 'PATCH',
        url: '/v1/me',
        headers: bearer(fifth.access_token),
        payload: { name: 'Ada' },
      })
    ).statusCode,
    200,
  )
  const newPassword = 'a brand new passphrase, never stored'
  secrets.push(newPassword)
  t.equal(
    (
      await send({
        method: 'POST',
        url: '/v1/me/password',
        headers: bearer(fifth.access_token),
        payload: { current_password: PASSWORD, new_password: newPassword },
      })
    ).statusCode,
    204,
  )
  const sixth = await login(email, newPassword)

  // A second user, whose history the first must never see.
  const otherEmail = uniqueEmail('other')
  t.equal(
    (await send({ method: 'POST', url: '/v1/users', payload: { email: otherEmail, password: PASSWORD } }))
      .statusCode,
    201,
  )
  const other = await login(otherEmail)

  await t.test('a user sees only their own security history, with address and User-Agent', async (t) => {
    const mine = await send({ url: '/v1/me/events?limit=100', headers: bearer(sixth.access_token) })
    t.equal(mine.statusCode, 200)
    const items = mine.json().items as Event[]
    t.same(
      items.map((e) => e.type).reverse(),
      [
        'login.succeeded',
        'login.failed',
        'refresh.reuse_detected',
        'login.succeeded',
        'session.revoked',
        'login.succeeded',
        'session.revoked',
        'login.succeeded',
        'session.revoked',
        'login.succeeded',
        'password.changed',
        'login.succeeded',
      ],
      'logins, failures, reuse, sessions ended and the password change; no admin bookkeeping',
    )
    t.ok(
      items.every((e) => e.user_id === userId),
      'only events about the caller',
    )
    const lastLogin = items.find((e) => e.type === 'login.succeeded')!
    t.equal(lastLogin.ip, ADDRESS)
    t.equal(lastLogin.user_agent, UA)
    const theirs = await send({ url: '/v1/me/events', headers: bearer(other.access_token) })
    t.same(
      (theirs.json().items as Event[]).map((e) => [e.type, e.user_id]),
      [['login.succeeded', theirs.json().items[0].user_id]],
    )
    t.not(theirs.json().items[0].user_id, userId, "the other user's own login only")
  })

  // The admin side of the user's life, and clients and keys.
  const adminSend = (options: InjectOptions) =>
    send({ ...options, headers: { ...bearer(admin), ...(options.headers as Record<string, string>) } })
  const patch = (payload: object) =>
    adminSend({ method: 'PATCH', url: `/v1/admin/users/${userId}`, payload }).then((r) => r.statusCode)
  t.equal(await patch({ scopes: ['profile:read'] }), 200)
  t.equal(await patch({ disabled: true }), 200)
  t.equal(await patch({ disabled: false }), 200)
  t.equal((await adminSend({ method: 'DELETE', url: `/v1/admin/users/${userId}` })).statusCode, 204)
  clock.advance(1000)
  const client = await createClient(app, admin, ['profile:read'], 'audited client')
  secrets.push(client.client_secret)
  t.equal(
    (await adminSend({ method: 'DELETE', url: `/v1/admin/clients/${client.client_id}` })).statusCode,
    204,
  )
  const rotation = await adminSend({ method: 'POST', url: '/v1/admin/keys/rotate', payload: {} })
  t.equal(rotation.statusCode, 201)

  await t.test('every event of the flow is recorded once, with the right fields', async (t) => {
    const events = (await allEvents(app, admin)).reverse()
    const about = events.filter((e) => e.user_id === userId)
    const shape = (e: Event) => ({
      type: e.type,
      actor: e.actor,
      client_id: e.client_id,
      ip: e.ip,
      user_agent: e.user_agent,
    })
    const self = { actor: userId, ip: ADDRESS, user_agent: UA }
    const byAdmin = { actor: adminId, client_id: null, ip: ADDRESS, user_agent: UA }
    t.same(
      about.map(shape),
      [
        { type: 'user.created', ...self, client_id: null },
        { type: 'login.succeeded', ...self, client_id: 'badge' },
        { type: 'login.failed', client_id: 'badge', actor: null, ip: ADDRESS, user_agent: UA },
        { type: 'refresh.reuse_detected', client_id: 'badge', actor: null, ip: ADDRESS, user_agent: UA },
        { type: 'login.succeeded', ...self, client_id: 'badge' },
        { type: 'session.revoked', ...self, client_id: 'badge' },
        { type: 'login.succeeded', ...self, client_id: 'badge' },
        { type: 'session.revoked', actor: null, client_id: 'badge', ip: ADDRESS, user_agent: UA },
        { type: 'login.succeeded', ...self, client_id: 'badge' },
        { type: 'session.revoked', ...self, client_id: null },
        { type: 'login.succeeded', ...self, client_id: 'badge' },
        { type: 'user.updated', ...self, client_id: null },
        { type: 'password.changed', ...self, client_id: null },
        { type: 'login.succeeded', ...self, client_id: 'badge' },
        { type: 'user.updated', ...byAdmin },
        { type: 'user.disabled', ...byAdmin },
        { type: 'user.enabled', ...byAdmin },
        { type: 'user.deleted', ...byAdmin },
      ],
      'the user’s events, in order',
    )
    const details = about.map((e) => e.details)
    t.same(details[0], { scopes: ['profile:read', 'profile:write'] })
    t.same(details[2], { reason: 'invalid_credentials', failures_from_address: 1 })
    t.match(details[3], { session_id: String })
    t.same(details[5], { reason: 'logout', session_id: sid2 })
    t.match(details[7], { reason: 'token_revoked', session_id: String })
    t.same(details[9], { reason: 'logout_everywhere', count: 1 })
    t.same(details[11], { changed: ['name'] })
    t.same(details[12], { sessions_revoked: 1 })
    t.same(details[14], { scopes: ['profile:read'], previous_scopes: ['profile:read', 'profile:write'] })

    const rest = events.filter((e) => e.user_id !== userId)
    const types = rest.map((e) => e.type)
    t.equal(types.filter((x) => x === 'client.created').length, 1)
    t.equal(types.filter((x) => x === 'client.deleted').length, 1)
    const [created, deleted] = rest.filter((e) => e.type.startsWith('client.'))
    t.match(created, { actor: adminId, client_id: client.client_id, details: { name: 'audited client' } })
    t.match(deleted, { actor: adminId, client_id: client.client_id, details: { sessions_revoked: 0 } })
    const keyEvents = rest.filter((e) => e.type === 'key.rotated')
    t.same(
      keyEvents.map((e) => e.actor),
      ['system', adminId],
      'the first key at start, then the admin rotation',
    )
    t.equal(keyEvents[1]!.details.kid, rotation.json().kid)
    t.match(
      rest.find((e) => e.type === 'user.created'),
      { actor: 'system', details: { scopes: Array } },
      'the bootstrap admin',
    )

    const filtered = await allEvents(app, admin, `&type=login.failed&user_id=${userId}`)
    t.same(
      filtered.map((e) => e.id),
      about.filter((e) => e.type === 'login.failed').map((e) => e.id),
      'filters by type and user',
    )
    const created0 = Date.parse(about[0]!.at)
    const window = await allEvents(
      app,
      admin,
      `&user_id=${userId}&since=${new Date(created0).toISOString()}&until=${new Date(created0 + 1).toISOString()}`,
    )
    t.same(
      window.map((e) => e.type),
      ['user.created'],
      'since is inclusive, until exclusive',
    )

    const everything = JSON.stringify(events)
    for (const secret of secrets) t.notOk(everything.includes(secret), 'no secret in any event')
  })

  await t.test('the same events are structured log lines, without secrets', async (t) => {
    const events = await allEvents(app, admin)
    const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.audit)
    t.same(logged.map((l) => l.audit.id).sort(), events.map((e) => e.id).sort(), 'one log line per event')
    const last = logged.find((l) => l.audit.type === 'password.changed')
    t.match(last, { msg: 'audit: password.changed', audit: { user_id: userId, ip: ADDRESS, user_agent: UA } })
    const everything = lines.join('\n')
    for (const secret of secrets) t.notOk(everything.includes(secret), 'no secret in the log')
  })

  await t.test('the audit log is for admins; filters are validated', async (t) => {
    const res = await app.inject({ url: '/v1/admin/audit', headers: bearer(other.access_token) })
    t.equal(res.statusCode, 403)
    const bad = await app.inject({ url: '/v1/admin/audit?type=nope', headers: bearer(admin) })
    t.equal(bad.statusCode, 400)
    t.equal(bad.json().error, 'invalid_request')
    const cursor = await app.inject({
      url: '/v1/me/events?cursor=garbage',
      headers: bearer(other.access_token),
    })
    t.equal(cursor.statusCode, 400)
  })
})
