import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, login, PASSWORD, passwordGrant, refreshGrant } from '../helpers/flows.js'

const NEW_PASSWORD = 'a brand new passphrase'

await eachDialect(t, async (t, dialect) => {
  const { app } = await buildTestApp(t, {}, dialect)

  const changePassword = (token: string, payload: object) =>
    app.inject({ method: 'POST', url: '/v1/me/password', headers: bearer(token), payload })

  await t.test('POST /v1/me/password swaps the password: the old one stops working', async (t) => {
    const { user, tokens } = await login(app)
    const res = await changePassword(tokens.access_token, {
      current_password: PASSWORD,
      new_password: NEW_PASSWORD,
    })
    t.equal(res.statusCode, 204)
    t.equal(res.body, '')
    const old = await passwordGrant(app, { username: user.email, password: PASSWORD })
    t.equal(old.statusCode, 400)
    t.equal(old.json().error, 'invalid_grant')
    t.equal((await passwordGrant(app, { username: user.email, password: NEW_PASSWORD })).statusCode, 200)
  })

  await t.test('changing the password revokes every session, the calling one included', async (t) => {
    const { user, tokens } = await login(app)
    const other = (await passwordGrant(app, { username: user.email, password: PASSWORD })).json()
    await changePassword(tokens.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD })
    for (const refreshToken of [tokens.refresh_token, other.refresh_token]) {
      const res = await refreshGrant(app, refreshToken)
      t.equal(res.statusCode, 400)
      t.equal(res.json().error, 'invalid_grant')
    }
    // Access tokens already issued are refused too (docs/contract.md §11).
    for (const accessToken of [tokens.access_token, other.access_token]) {
      const me = await app.inject({ url: '/v1/me', headers: bearer(accessToken) })
      t.equal(me.statusCode, 401)
      t.equal(me.json().error, 'invalid_token')
    }
  })

  await t.test('a wrong current password is 400 invalid_grant and changes nothing', async (t) => {
    const { user, tokens } = await login(app)
    const res = await changePassword(tokens.access_token, {
      current_password: 'not my password',
      new_password: NEW_PASSWORD,
    })
    t.equal(res.statusCode, 400)
    t.same(res.json(), { error: 'invalid_grant', error_description: 'The current password is incorrect.' })
    t.equal((await refreshGrant(app, tokens.refresh_token)).statusCode, 200, 'sessions are kept')
    t.equal((await passwordGrant(app, { username: user.email, password: PASSWORD })).statusCode, 200)
  })

  await t.test(
    'a new password that breaks the rules, or a missing field, is 400 invalid_request',
    async (t) => {
      const { tokens } = await login(app)
      for (const payload of [
        { current_password: PASSWORD, new_password: 'short' },
        { current_password: PASSWORD, new_password: 'x'.repeat(1025) },
        { current_password: PASSWORD },
        { new_password: NEW_PASSWORD },
      ]) {
        const res = await changePassword(tokens.access_token, payload)
        t.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 60))
        t.equal(res.json().error, 'invalid_request')
      }
      t.equal((await refreshGrant(app, tokens.refresh_token)).statusCode, 200, 'nothing was revoked')
    },
  )

  await t.test('changing the password needs profile:write', async (t) => {
    const { user } = await login(app)
    const readOnly = (
      await passwordGrant(app, { username: user.email, password: PASSWORD, scope: 'profile:read' })
    ).json()
    const res = await changePassword(readOnly.access_token, {
      current_password: PASSWORD,
      new_password: NEW_PASSWORD,
    })
    t.equal(res.statusCode, 403)
    t.equal(res.json().error, 'insufficient_scope')
  })
})
