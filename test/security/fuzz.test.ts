import fc from 'fast-check'
import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { SYSTEM_CONTEXT } from '../../src/audit/events.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { login } from '../helpers/flows.js'
import { decode } from '../helpers/forge.js'
import { type FuzzWorld, requestArbitrary } from './fuzz-requests.js'

// Property: whatever arrives at /oauth/token, /oauth/revoke, /oauth/introspect,
// /v1/users or a protected route, Badge answers without a 5xx, every 4xx is {error, error_description}, and
// the database stays consistent: only valid signups add users (with the default
// scopes), and every session is whole (exactly one live refresh token).

const RUNS = Number(process.env.FUZZ_RUNS ?? 2500)

/** Throws (so fast-check shrinks and reports) when a response breaks the contract. */
function checkResponse(res: LightMyRequestResponse) {
  const fail = (why: string) => {
    throw new Error(`${why}: ${res.statusCode} ${res.body.slice(0, 300)}`)
  }
  if (res.statusCode >= 500) fail('5xx')
  if (/FST_|FAST_JWT|TokenError|\bat \S+ \(/.test(res.body)) fail('internals leaked')
  if (res.statusCode < 400) return
  if (!String(res.headers['content-type']).startsWith('application/json')) fail('error not JSON')
  const body = res.json() as Record<string, unknown>
  if (Object.keys(body).sort().join() !== 'error,error_description') fail('not the error shape')
  if (typeof body.error !== 'string' || !/^[a-z_]+$/.test(body.error)) fail('error not a snake_case code')
  if (typeof body.error_description !== 'string' || body.error_description === '') fail('no description')
  // A 401 carries its challenge: Bearer on protected routes, Basic for client authentication.
  if (
    res.statusCode === 401 &&
    !/^(Bearer|Basic) realm="badge"/.test(String(res.headers['www-authenticate']))
  )
    fail('401 without its challenge')
}

await eachDialect(t, async (t, dialect) => {
  const { app } = await buildTestApp(t, {}, dialect)
  const { db } = app.services.database
  const { client, clientSecret } = await app.services.clients.createClient(
    { name: 'fuzz', scopes: ['profile:read'] },
    SYSTEM_CONTEXT,
  )
  const world: FuzzWorld = {
    emails: [],
    accessTokens: [],
    refreshTokens: [],
    client: { id: client.client_id, secret: clientSecret },
  }
  for (let i = 0; i < 3; i++) {
    const { user, tokens } = await login(app)
    world.emails.push(user.email)
    world.accessTokens.push(tokens.access_token)
    world.refreshTokens.push(tokens.refresh_token)
  }
  const usersBefore = await db.selectFrom('users').selectAll().execute()
  const sessionsBefore = await db.selectFrom('sessions').select('id').execute()
  const created = new Set<string>()
  const sessionsSeen = new Set(sessionsBefore.map((s) => s.id))
  const statuses = new Map<number, number>()
  let cookieRefreshes = 0

  await t.test(`${RUNS} random and mutated requests: no 5xx, always the error shape`, async (t) => {
    await fc.assert(
      fc.asyncProperty(requestArbitrary(world), async (request) => {
        const res = await app.inject(request)
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
        checkResponse(res)
        const path = String(request.url).split('?')[0]
        if (res.statusCode === 201 && path === '/v1/users') created.add(res.json().id)
        if (res.statusCode === 200 && path === '/oauth/token') {
          const body = res.json()
          world.accessTokens.push(body.access_token)
          // client_credentials issues an access token only: no session, no refresh token.
          const sid = decode(body.access_token).payload.sid
          if (typeof sid === 'string') sessionsSeen.add(sid)
          if (body.refresh_token !== undefined) world.refreshTokens.push(body.refresh_token)
          // Browser mode: the refresh token arrives as a cookie instead.
          const cookie = /__Secure-badge_rt=([^;]+)/.exec(String(res.headers['set-cookie'] ?? ''))
          if (cookie?.[1]) {
            world.refreshTokens.push(cookie[1])
            cookieRefreshes++
          }
        }
      }),
      { numRuns: RUNS },
    )
    t.comment(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`)
    t.comment(`refresh tokens delivered as cookies: ${cookieRefreshes}`)
    t.ok((statuses.get(200) ?? 0) > 0 && (statuses.get(201) ?? 0) > 0, 'some requests got through to success')
    t.ok((statuses.get(400) ?? 0) > 0 && (statuses.get(401) ?? 0) > 0, 'and many were refused')
  })

  await t.test('the database is consistent afterwards', async (t) => {
    const users = await db.selectFrom('users').selectAll().execute()
    const before = new Map(usersBefore.map((u) => [u.id, u]))
    for (const user of users) {
      const old = before.get(user.id)
      // PATCH /v1/me with a valid token may rename; nothing else about a user may change.
      if (old)
        t.same(
          { ...user, name: null, updated_at: 0 },
          { ...old, name: null, updated_at: 0 },
          `${user.email} unchanged`,
        )
      else t.ok(created.has(user.id), `user ${user.email} came from a successful signup`)
      t.notMatch(user.scopes, /admin/, `${user.email} holds no admin scope`)
    }
    t.equal(users.length, usersBefore.length + created.size, 'users = before + successful signups')

    const sessions = await db.selectFrom('sessions').selectAll().execute()
    t.same(new Set(sessions.map((s) => s.id)), sessionsSeen, 'every session came from a successful login')
    const userIds = new Set(users.map((u) => u.id))
    const live = await db
      .selectFrom('refresh_tokens')
      .select('session_id')
      .where('rotated_at', 'is', null)
      .execute()
    const liveBySession = new Map<string, number>()
    for (const { session_id } of live) liveBySession.set(session_id, (liveBySession.get(session_id) ?? 0) + 1)
    const broken = sessions.filter((s) => liveBySession.get(s.id) !== 1 || !userIds.has(s.user_id))
    t.same(broken, [], 'every session has its user and exactly one live refresh token')
  })
})
