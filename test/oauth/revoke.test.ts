import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, login, refreshGrant } from '../helpers/flows.js'

function revoke(app: Parameters<typeof login>[0], fields: Record<string, string>) {
  return app.inject({
    method: 'POST',
    url: '/oauth/revoke',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString(),
  })
}

await eachDialect(t, async (t, dialect) => {
  const { app } = await buildTestApp(t, {}, dialect)

  await t.test('revoking a refresh token ends its session', async (t) => {
    const { tokens } = await login(app)
    const res = await revoke(app, { token: tokens.refresh_token })
    t.equal(res.statusCode, 200)
    t.equal(res.body, '')
    t.equal((await refreshGrant(app, tokens.refresh_token)).json().error, 'invalid_grant')
  })

  await t.test('revoking a spent refresh token ends the whole family, successor included', async (t) => {
    const { tokens } = await login(app)
    const successor = (await refreshGrant(app, tokens.refresh_token)).json()
    await revoke(app, { token: tokens.refresh_token, token_type_hint: 'refresh_token' })
    t.equal((await refreshGrant(app, successor.refresh_token)).statusCode, 400)
  })

  await t.test(
    'revoking an access token ends its session and the access token with it (docs/contract.md §11)',
    async (t) => {
      const { tokens } = await login(app)
      const res = await revoke(app, { token: tokens.access_token, token_type_hint: 'access_token' })
      t.equal(res.statusCode, 200)
      t.equal((await refreshGrant(app, tokens.refresh_token)).statusCode, 400, 'no more refreshes')
      const me = await app.inject({ url: '/v1/me/claims', headers: bearer(tokens.access_token) })
      t.equal(me.statusCode, 401, 'refused at once by the revoked set')
      t.equal(me.json().error, 'invalid_token')
    },
  )

  await t.test('a wrong hint does not prevent revocation (RFC 7009 §2.1)', async (t) => {
    const { tokens } = await login(app)
    await revoke(app, { token: tokens.refresh_token, token_type_hint: 'access_token' })
    t.equal((await refreshGrant(app, tokens.refresh_token)).statusCode, 400)
  })

  await t.test('unknown tokens are 200; a request without token is 400 invalid_request', async (t) => {
    t.equal((await revoke(app, { token: 'never-issued' })).statusCode, 200)
    t.equal((await revoke(app, { token: 'a.b.c' })).statusCode, 200)
    const missing = await revoke(app, {})
    t.equal(missing.statusCode, 400)
    t.equal(missing.json().error, 'invalid_request')
    const badHint = await revoke(app, { token: 'x', token_type_hint: 'id_token' })
    t.equal(badHint.statusCode, 400)
  })
})
