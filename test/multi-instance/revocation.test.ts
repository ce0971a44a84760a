import t, { type Test } from 'tap'
import { dialects, POSTGRES_SKIP_REASON } from '../helpers/databases.js'
import { PASSWORD, uniqueEmail } from '../helpers/flows.js'
import { type BadgeProcess, startBadge, startResourceServer } from '../helpers/processes.js'
import { TEST_REDIS_URL } from '../helpers/redis.js'

// Issue 16 acceptance, with real processes: two Badge instances on one PostgreSQL
// database (the bus: LISTEN/NOTIFY, or Redis pub/sub when TEST_REDIS_URL is set) and
// examples/resource-server.ts with the kit, once following the stream and once polling.
// After POST /oauth/revoke, a password change and a disable on instance A, the old access
// token is refused by instance B and by both resource servers within 2 s (the poller's
// interval is 1 s); a resource server started afterwards refuses it from its first request.

const postgres = dialects.find((d) => d.name === 'postgres')
const BOUND_MS = 2000

interface Answer {
  status: number
  body: Record<string, unknown>
}

async function call(at: BadgeProcess, path: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(`${at.url}${path}`, init)
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : {} }
}
const post = (fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(fields).toString(),
})
const json = (method: string, body: unknown, token?: string): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
})
const bearer = (token: string): RequestInit => ({ headers: { authorization: `Bearer ${token}` } })

async function login(at: BadgeProcess, email: string, password = PASSWORD) {
  const res = await call(at, '/oauth/token', post({ grant_type: 'password', username: email, password }))
  if (res.status !== 200) throw new Error(`login: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body as { access_token: string; refresh_token: string }
}

/** Milliseconds until `at` refuses `token` on `path` with 401 invalid_token, or -1 if not within `bound`. */
async function msUntilRefused(at: BadgeProcess, path: string, token: string, started: number, bound: number) {
  for (;;) {
    const res = await call(at, path, bearer(token))
    if (res.status === 401 && res.body.error === 'invalid_token') return Date.now() - started
    if (Date.now() - started > bound) return -1
    await new Promise((r) => setTimeout(r, 25))
  }
}

async function scenario(t: Test, bus: 'postgres' | 'redis') {
  const { url, drop } = await postgres!.create()
  t.teardown(drop)
  const env: Record<string, string> = {
    DATABASE_URL: url,
    ISSUER: 'http://badge.test',
    SCOPES: 'profile:read profile:write admin notes:read notes:write',
    DEFAULT_USER_SCOPES: 'profile:read profile:write notes:read',
    BOOTSTRAP_ADMIN_EMAIL: 'admin@example.com',
    BOOTSTRAP_ADMIN_PASSWORD: PASSWORD,
    // The catch-up poll is slower than the bound: only the bus can meet it.
    REVOCATION_POLL_SECONDS: '60',
    ...(bus === 'redis' ? { REDIS_URL: TEST_REDIS_URL!, REDIS_KEY_PREFIX: `badge-e2e-${process.pid}:` } : {}),
  }
  const [a, b] = await Promise.all([startBadge(t, env), startBadge(t, env)])
  const admin = (await login(a, 'admin@example.com')).access_token
  const created = await call(
    a,
    '/v1/admin/clients',
    json('POST', { name: 'notes', scopes: ['profile:read'] }, admin),
  )
  t.equal(created.status, 201)
  const rsEnv = {
    ISSUER: 'http://badge.test',
    JWKS_URL: `${a.url}/.well-known/jwks.json`,
    BADGE_URL: b.url,
    BADGE_CLIENT_ID: String(created.body.client_id),
    BADGE_CLIENT_SECRET: String(created.body.client_secret),
  }
  const [streaming, polling] = await Promise.all([
    startResourceServer(t, { ...rsEnv, REVOCATION_POLL_SECONDS: '3600' }),
    startResourceServer(t, { ...rsEnv, REVOCATION_STREAM: 'false', REVOCATION_POLL_SECONDS: '1' }),
  ])

  const events: Record<
    string,
    (
      user: { email: string; id: string },
      tokens: { access_token: string; refresh_token: string },
    ) => Promise<Answer>
  > = {
    'POST /oauth/revoke': (_user, tokens) => call(a, '/oauth/revoke', post({ token: tokens.refresh_token })),
    'a password change': (_user, tokens) =>
      call(
        a,
        '/v1/me/password',
        json(
          'POST',
          { current_password: PASSWORD, new_password: 'another long passphrase' },
          tokens.access_token,
        ),
      ),
    'a disable': (user) => call(a, `/v1/admin/users/${user.id}`, json('PATCH', { disabled: true }, admin)),
  }
  for (const [name, act] of Object.entries(events)) {
    await t.test(`${name} on A: B and both resource servers refuse the old token within 2 s`, async (t) => {
      const email = uniqueEmail('revocation')
      const signed = await call(a, '/v1/users', json('POST', { email, password: PASSWORD }))
      const tokens = await login(a, email)
      t.equal((await call(b, '/v1/me', bearer(tokens.access_token))).status, 200, 'B accepts it before')
      t.equal(
        (await call(streaming, '/notes', bearer(tokens.access_token))).status,
        200,
        'so does the streaming RS',
      )
      t.equal((await call(polling, '/notes', bearer(tokens.access_token))).status, 200, 'and the polling RS')
      const acted = await act({ email, id: String(signed.body.id) }, tokens)
      t.ok(acted.status < 300, `${name} succeeded (${acted.status})`)
      const started = Date.now()
      t.equal((await call(a, '/v1/me', bearer(tokens.access_token))).status, 401, 'A at once')
      const [onB, onStream, onPoll] = await Promise.all([
        msUntilRefused(b, '/v1/me', tokens.access_token, started, BOUND_MS),
        msUntilRefused(streaming, '/notes', tokens.access_token, started, BOUND_MS),
        msUntilRefused(polling, '/notes', tokens.access_token, started, BOUND_MS),
      ])
      t.not(onB, -1, `instance B refused it (${onB} ms)`)
      t.not(onStream, -1, `the streaming resource server refused it (${onStream} ms)`)
      t.not(onPoll, -1, `the polling resource server refused it (${onPoll} ms)`)
    })
  }

  await t.test(
    'a resource server started after a revocation refuses the token from its first request',
    async (t) => {
      const email = uniqueEmail('restart')
      await call(a, '/v1/users', json('POST', { email, password: PASSWORD }))
      const tokens = await login(a, email)
      await call(a, '/oauth/revoke', post({ token: tokens.refresh_token }))
      const restarted = await startResourceServer(t, {
        ...rsEnv,
        REVOCATION_STREAM: 'false',
        REVOCATION_POLL_SECONDS: '3600',
      })
      const res = await call(restarted, '/notes', bearer(tokens.access_token))
      t.equal(res.status, 401)
      t.equal(res.body.error, 'invalid_token')
    },
  )
}

if (!postgres) {
  t.test('postgres', { skip: POSTGRES_SKIP_REASON }, async () => {})
} else {
  await t.test('bus: PostgreSQL LISTEN/NOTIFY', (t) => scenario(t, 'postgres'))
  if (TEST_REDIS_URL) await t.test('bus: Redis pub/sub', (t) => scenario(t, 'redis'))
}
