import t, { type Test } from 'tap'
import { createDatabase } from '../../src/db/index.js'
import { dialects, POSTGRES_SKIP_REASON } from '../helpers/databases.js'
import { PASSWORD, uniqueEmail } from '../helpers/flows.js'
import { startTcpProxy, viaProxy } from '../helpers/net.js'
import { type BadgeProcess, startBadge } from '../helpers/processes.js'

// Issue 4: two real Badge processes on one PostgreSQL database, over real HTTP.
// Tokens, refreshes, reuse detection and key rotation (over HTTP) work across them; when the
// database goes away (a proxy in front of it is cut) they keep verifying tokens and
// answer 503 for the rest, and recover by themselves when it returns.

const postgres = dialects.find((d) => d.name === 'postgres')

interface Answer {
  status: number
  body: Record<string, unknown>
  headers: Headers
}

async function call(base: BadgeProcess, path: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(`${base.url}${path}`, init)
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers }
}

const form = (fields: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
})
const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})
const bearer = (token: unknown) => ({ headers: { authorization: `Bearer ${String(token)}` } })
const kidOf = (token: unknown) =>
  JSON.parse(Buffer.from(String(token).split('.')[0]!, 'base64url').toString()).kid as string

async function signUpAndLogin(at: BadgeProcess, loginAt = at) {
  const email = uniqueEmail('multi')
  const created = await call(at, '/v1/users', json({ email, password: PASSWORD }))
  if (created.status !== 201) throw new Error(`sign-up: ${created.status} ${JSON.stringify(created.body)}`)
  const tokens = await call(
    loginAt,
    '/oauth/token',
    form({ grant_type: 'password', username: email, password: PASSWORD }),
  )
  if (tokens.status !== 200) throw new Error(`login: ${tokens.status} ${JSON.stringify(tokens.body)}`)
  return { email, id: created.body.id as string, tokens: tokens.body }
}

function assertUnavailable(t: Test, answer: Answer, what: string) {
  t.equal(answer.status, 503, what)
  t.same(Object.keys(answer.body).sort(), ['error', 'error_description'], what)
  t.equal(answer.body.error, 'temporarily_unavailable', what)
  t.match(answer.headers.get('retry-after'), /^[1-9][0-9]*$/, what)
}

if (!postgres) {
  t.test('postgres', { skip: POSTGRES_SKIP_REASON }, async () => {})
} else {
  const { url, drop } = await postgres.create()
  t.teardown(drop)
  const target = new URL(url)
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
  t.teardown(() => proxy.close())
  const env = {
    DATABASE_URL: viaProxy(url, proxy),
    ISSUER: 'http://badge.test',
    RATE_LIMIT_ENABLED: 'true',
    BOOTSTRAP_ADMIN_EMAIL: 'admin@example.com',
    BOOTSTRAP_ADMIN_PASSWORD: PASSWORD,
  }
  // Started together on an empty database: they take turns migrating and creating the first key.
  const [a, b] = await Promise.all([startBadge(t, env), startBadge(t, env)])

  await t.test('both instances publish the same single key', async (t) => {
    const [ja, jb] = await Promise.all([call(a, '/.well-known/jwks.json'), call(b, '/.well-known/jwks.json')])
    t.equal((ja.body.keys as unknown[]).length, 1)
    t.same(ja.body, jb.body)
  })

  await t.test('a user signed up on A logs in on B and B’s token works on A', async (t) => {
    const { id, tokens } = await signUpAndLogin(a, b)
    const me = await call(a, '/v1/me', bearer(tokens.access_token))
    t.equal(me.status, 200)
    t.equal(me.body.id, id)
  })

  await t.test('20 parallel refreshes split across A and B yield exactly one successor', async (t) => {
    const { tokens } = await signUpAndLogin(a)
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(
          i % 2 ? b : a,
          '/oauth/token',
          form({ grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) }),
        ),
      ),
    )
    t.same(
      answers.map((r) => r.status),
      Array(20).fill(200),
    )
    const successors = new Set(answers.map((r) => r.body.refresh_token))
    t.equal(successors.size, 1, 'one successor')
    const next = await call(
      a,
      '/oauth/token',
      form({ grant_type: 'refresh_token', refresh_token: String([...successors][0]) }),
    )
    t.equal(next.status, 200, 'the family is alive')
  })

  await t.test('reuse on B revokes a family rotated on A', async (t) => {
    const { tokens } = await signUpAndLogin(a)
    const rotated = await call(
      a,
      '/oauth/token',
      form({ grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) }),
    )
    t.equal(rotated.status, 200)
    // Move the rotation out of the grace window instead of waiting for it to pass.
    const direct = createDatabase({ url, poolMax: 1 })
    t.teardown(() => direct.close())
    await direct.db
      .updateTable('refresh_tokens')
      .set({ rotated_at: Date.now() - 60_000 })
      .where('rotated_at', 'is not', null)
      .execute()

    const reuse = await call(
      b,
      '/oauth/token',
      form({ grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) }),
    )
    t.equal(reuse.status, 400)
    t.equal(reuse.body.error, 'invalid_grant')
    const successor = await call(
      a,
      '/oauth/token',
      form({ grant_type: 'refresh_token', refresh_token: String(rotated.body.refresh_token) }),
    )
    t.equal(successor.status, 400, 'the successor died with its family')
    t.equal(successor.body.error, 'invalid_grant')
  })

  await t.test('a key rotated on A over HTTP is accepted and published by B without a restart', async (t) => {
    const before = await signUpAndLogin(a)
    const admin = await call(
      a,
      '/oauth/token',
      form({ grant_type: 'password', username: 'admin@example.com', password: PASSWORD }),
    )
    t.equal(admin.status, 200, 'the bootstrap admin logs in')
    const rotated = await call(a, '/v1/admin/keys/rotate', {
      method: 'POST',
      headers: { authorization: `Bearer ${String(admin.body.access_token)}` },
    })
    t.equal(rotated.status, 201)
    const kid = String(rotated.body.kid)
    t.not(kid, kidOf(before.tokens.access_token))

    const fresh = (await signUpAndLogin(a)).tokens
    t.equal(kidOf(fresh.access_token), kid, 'A signs with the new key at once')

    for (const instance of [a, b]) {
      t.equal(
        (await call(instance, '/v1/me/claims', bearer(fresh.access_token))).status,
        200,
        'new key accepted',
      )
      t.equal(
        (await call(instance, '/v1/me/claims', bearer(before.tokens.access_token))).status,
        200,
        'old key still accepted',
      )
      const jwks = await call(instance, '/.well-known/jwks.json')
      t.ok(
        (jwks.body.keys as Array<{ kid: string }>).some((k) => k.kid === kid),
        'new key published',
      )
    }
    const afterReload = await signUpAndLogin(b)
    t.equal(kidOf(afterReload.tokens.access_token), kid, 'B now signs with the new key')
  })

  await t.test('while the database is down, A and B verify tokens and answer 503 for the rest', async (t) => {
    const { tokens } = await signUpAndLogin(a)
    proxy.set('reset')
    for (const instance of [a, b]) {
      t.equal(
        (await call(instance, '/v1/me/claims', bearer(tokens.access_token))).status,
        200,
        'bearer check',
      )
      t.equal((await call(instance, '/.well-known/jwks.json')).status, 200, 'JWKS')
      t.equal((await call(instance, '/.well-known/oauth-authorization-server')).status, 200, 'metadata')
      t.equal((await call(instance, '/health/live')).status, 200, 'live')
      assertUnavailable(t, await call(instance, '/health/ready'), 'ready')
      assertUnavailable(
        t,
        await call(
          instance,
          '/oauth/token',
          form({ grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) }),
        ),
        'refresh',
      )
      assertUnavailable(
        t,
        await call(instance, '/v1/users', json({ email: uniqueEmail(), password: PASSWORD })),
        'sign-up',
      )
    }

    proxy.set('forward')
    for (const instance of [a, b]) {
      let ready = false
      for (let i = 0; i < 100 && !ready; i++) {
        ready = (await call(instance, '/health/ready')).status === 200
        if (!ready) await new Promise((resolve) => setTimeout(resolve, 100))
      }
      t.ok(ready, 'ready again without a restart')
    }
    const refreshed = await call(
      b,
      '/oauth/token',
      form({ grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) }),
    )
    t.equal(refreshed.status, 200, 'the session survived the outage')
  })
}
