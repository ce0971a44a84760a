import { createCipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'
import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, login, refreshGrant, type TokenBody } from '../helpers/flows.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR

await eachDialect(t, async (t, dialect) => {
  const env = { REFRESH_TOKEN_TTL: String(30 * 86400), REFRESH_TOKEN_IDLE_TTL: String(7 * 86400) }
  const { app, clock, database } = await buildTestApp(t, env, dialect)
  const hashOf = (token: string) => createHash('sha256').update(token).digest('base64url')
  const spentRow = async (token: string) => {
    const row = await database.db
      .selectFrom('refresh_tokens')
      .select(['id', 'successor_enc'])
      .where('token_hash', '=', hashOf(token))
      .executeTakeFirstOrThrow()
    return { id: row.id, successor_enc: row.successor_enc ?? '' }
  }
  const setSealed = (id: string, sealed: string) =>
    database.db.updateTable('refresh_tokens').set({ successor_enc: sealed }).where('id', '=', id).execute()
  // The format releases before v2 wrote: AES-256-GCM under HKDF-SHA256(parent), iv ‖ ciphertext ‖ tag.
  const sealV1 = (successor: string, parent: string) => {
    const key = Buffer.from(hkdfSync('sha256', parent, '', 'badge refresh successor v1', 32))
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', key, iv)
    const body = Buffer.concat([cipher.update(successor, 'utf8'), cipher.final()])
    return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')
  }

  await t.test('refreshing returns new tokens and spends the old refresh token', async (t) => {
    const { tokens } = await login(app)
    const res = await refreshGrant(app, tokens.refresh_token)
    t.equal(res.statusCode, 200)
    t.equal(res.headers['cache-control'], 'no-store')
    const next = res.json() as TokenBody
    t.not(next.refresh_token, tokens.refresh_token)
    t.not(next.access_token, tokens.access_token)
    t.equal(next.scope, 'profile:read profile:write')
    t.equal((await app.inject({ url: '/v1/me', headers: bearer(next.access_token) })).statusCode, 200)
    t.equal((await refreshGrant(app, next.refresh_token)).statusCode, 200, 'the successor works')
  })

  await t.test('a retry within the grace window returns the same successor', async (t) => {
    const { tokens } = await login(app)
    const first = (await refreshGrant(app, tokens.refresh_token)).json() as TokenBody
    clock.advance(9_000)
    const retry = await refreshGrant(app, tokens.refresh_token)
    t.equal(retry.statusCode, 200)
    t.equal(retry.json().refresh_token, first.refresh_token)
    t.equal((await refreshGrant(app, first.refresh_token)).statusCode, 200, 'the family is still alive')
  })

  await t.test('the successor is kept sealed, never in the clear', async (t) => {
    const { tokens } = await login(app)
    const first = (await refreshGrant(app, tokens.refresh_token)).json() as TokenBody
    const spent = await spentRow(tokens.refresh_token)
    t.match(spent.successor_enc, /^v2\.[A-Za-z0-9_-]{64}$/, 'successor and tag, base64url')
    t.notOk(spent.successor_enc.includes(first.refresh_token))
  })

  await t.test('a successor sealed by an earlier version (AES-256-GCM) still answers a retry', async (t) => {
    // A rolling upgrade: the token was spent by the previous release, the retry reaches this one.
    const { tokens } = await login(app)
    const first = (await refreshGrant(app, tokens.refresh_token)).json() as TokenBody
    const spent = await spentRow(tokens.refresh_token)
    await setSealed(spent.id, sealV1(first.refresh_token, tokens.refresh_token))
    const retry = await refreshGrant(app, tokens.refresh_token)
    t.equal(retry.statusCode, 200)
    t.equal(retry.json().refresh_token, first.refresh_token)
  })

  await t.test('an altered sealed successor refuses the retry with invalid_grant, not a 500', async (t) => {
    for (const version of ['v2', 'v1'] as const) {
      const { tokens } = await login(app)
      const first = (await refreshGrant(app, tokens.refresh_token)).json() as TokenBody
      const spent = await spentRow(tokens.refresh_token)
      const sealed =
        version === 'v2' ? spent.successor_enc : sealV1(first.refresh_token, tokens.refresh_token)
      const flipped = sealed.slice(0, -2) + (sealed.at(-2) === 'A' ? 'B' : 'A') + sealed.at(-1)
      await setSealed(spent.id, flipped)
      const retry = await refreshGrant(app, tokens.refresh_token)
      t.equal(retry.statusCode, 400, version)
      t.equal(retry.json().error, 'invalid_grant', version)
    }
  })

  await t.test('a spent refresh token after the grace window revokes the whole family', async (t) => {
    const { tokens } = await login(app)
    const successor = (await refreshGrant(app, tokens.refresh_token)).json() as TokenBody
    clock.advance(11_000)
    const reuse = await refreshGrant(app, tokens.refresh_token)
    t.equal(reuse.statusCode, 400)
    t.equal(reuse.json().error, 'invalid_grant')
    const afterTheft = await refreshGrant(app, successor.refresh_token)
    t.equal(afterTheft.statusCode, 400, 'the successor died with the family')
    t.equal(afterTheft.json().error, 'invalid_grant')
  })

  await t.test('20 parallel refreshes of one token yield exactly one successor', async (t) => {
    const { tokens } = await login(app)
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => refreshGrant(app, tokens.refresh_token)),
    )
    t.same(
      answers.map((r) => r.statusCode),
      Array(20).fill(200),
    )
    const successors = new Set(answers.map((r) => r.json().refresh_token))
    t.equal(successors.size, 1)
    const rows = await database.db.selectFrom('refresh_tokens').select('session_id').execute()
    const sid = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()).sid
    t.equal(rows.filter((r) => r.session_id === sid).length, 2, 'parent and one successor stored')
    t.equal((await refreshGrant(app, [...successors][0]!)).statusCode, 200)
  })

  await t.test('a session unused for REFRESH_TOKEN_IDLE_TTL expires', async (t) => {
    const { tokens } = await login(app)
    clock.advance(6 * DAY)
    const kept = (await refreshGrant(app, tokens.refresh_token)).json() as TokenBody
    clock.advance(7 * DAY + 1000)
    const res = await refreshGrant(app, kept.refresh_token)
    t.equal(res.statusCode, 400)
    t.equal(res.json().error, 'invalid_grant')
  })

  await t.test('rotation never extends the absolute REFRESH_TOKEN_TTL', async (t) => {
    const { tokens } = await login(app)
    let refresh = tokens.refresh_token
    for (let day = 5; day <= 25; day += 5) {
      clock.advance(5 * DAY)
      const res = await refreshGrant(app, refresh)
      t.equal(res.statusCode, 200, `refreshed on day ${day}`)
      refresh = res.json().refresh_token
    }
    clock.advance(5 * DAY + 1000)
    const res = await refreshGrant(app, refresh)
    t.equal(res.statusCode, 400, 'past 30 days the session is over, however recently it rotated')
    t.equal(res.json().error, 'invalid_grant')
  })

  await t.test(
    'narrowing scope on refresh shapes that access token only; the session keeps its scope',
    async (t) => {
      const { tokens } = await login(app)
      const narrow = (
        await refreshGrant(app, tokens.refresh_token, { scope: 'profile:read' })
      ).json() as TokenBody
      t.equal(narrow.scope, 'profile:read')
      const wide = (await refreshGrant(app, narrow.refresh_token)).json() as TokenBody
      t.equal(wide.scope, 'profile:read profile:write')
      const escalate = await refreshGrant(app, wide.refresh_token, { scope: 'admin' })
      t.equal(escalate.statusCode, 400)
      t.equal(escalate.json().error, 'invalid_scope')
    },
  )

  await t.test('scopes taken from the user since login are gone from refreshed tokens', async (t) => {
    const { user, tokens } = await login(app)
    await database.db.updateTable('users').set({ scopes: 'profile:read' }).where('id', '=', user.id).execute()
    const res = (await refreshGrant(app, tokens.refresh_token)).json() as TokenBody
    t.equal(res.scope, 'profile:read')
  })

  await t.test('a disabled user cannot refresh', async (t) => {
    const { user, tokens } = await login(app)
    await database.db.updateTable('users').set({ disabled_at: clock() }).where('id', '=', user.id).execute()
    const res = await refreshGrant(app, tokens.refresh_token)
    t.equal(res.statusCode, 400)
    t.equal(res.json().error, 'invalid_grant')
  })

  await t.test('a refresh token issued to one client_id cannot be used by another', async (t) => {
    const { tokens } = await login(app)
    const res = await refreshGrant(app, tokens.refresh_token, { client_id: 'someone-else' })
    t.equal(res.statusCode, 400)
    t.equal(res.json().error, 'invalid_grant')
  })

  await t.test('unknown and malformed refresh tokens are invalid_grant', async (t) => {
    const { tokens } = await login(app)
    // RFC 6749 §5.2: anything Badge did not issue, however long (an access token sent by
    // mistake, a JWT from another server), tells the client to log in again.
    for (const token of ['nope', 'A'.repeat(43), 'é'.repeat(10), tokens.access_token, 'x'.repeat(20_000)]) {
      const res = await refreshGrant(app, token)
      t.equal(res.statusCode, 400)
      t.equal(res.json().error, 'invalid_grant', `${token.slice(0, 12)}… (${token.length} characters)`)
    }
  })
})
