import t from 'tap'
import { ADMIN_EMAIL, ADMIN_ENV, adminToken } from '../helpers/admin.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, login, PASSWORD, passwordGrant, refreshGrant } from '../helpers/flows.js'
import { enableTotp, loginWithMfa, totpCode } from '../helpers/mfa.js'

// An admin sees and resets a user's second factors; with ADMIN_REQUIRE_MFA, admin routes
// need a token from a login with a second factor (RFC 9470 step-up).

await eachDialect(t, async (t, dialect) => {
  const { app, clock } = await buildTestApp(t, ADMIN_ENV, dialect)

  await t.test('an admin sees a user’s second factors and resets them', async (t) => {
    const admin = await adminToken(app)
    const { user, tokens } = await login(app)
    await enableTotp(app, tokens.access_token, clock)
    const url = `/v1/admin/users/${user.id}/mfa`
    const seen = await app.inject({ method: 'GET', url, headers: bearer(admin) })
    t.equal(seen.statusCode, 200)
    t.same(seen.json(), { totp: true, passkeys: 0, recovery_codes_left: 10 })
    const reset = await app.inject({ method: 'DELETE', url, headers: bearer(admin) })
    t.equal(reset.statusCode, 204)
    t.same((await app.inject({ method: 'GET', url, headers: bearer(admin) })).json(), {
      totp: false,
      passkeys: 0,
      recovery_codes_left: 0,
    })
    t.equal((await refreshGrant(app, tokens.refresh_token)).statusCode, 400, 'the user’s sessions ended')
    t.equal((await passwordGrant(app, { username: user.email, password: PASSWORD })).statusCode, 200)
    const userToken = (await passwordGrant(app, { username: user.email, password: PASSWORD })).json()
    const forbidden = await app.inject({ method: 'DELETE', url, headers: bearer(userToken.access_token) })
    t.equal(forbidden.statusCode, 403)
  })

  await t.test('unknown and malformed user ids are 404', async (t) => {
    const admin = await adminToken(app)
    for (const id of ['not-a-uuid', '00000000-0000-4000-8000-000000000000']) {
      const res = await app.inject({
        method: 'DELETE',
        url: `/v1/admin/users/${id}/mfa`,
        headers: bearer(admin),
      })
      t.equal(res.statusCode, 404)
      t.equal(res.json().error, 'not_found')
    }
  })
})

t.test(
  'ADMIN_REQUIRE_MFA: admin routes answer a password-only token with the RFC 9470 challenge',
  async (t) => {
    const { app, clock } = await buildTestApp(t, { ...ADMIN_ENV, ADMIN_REQUIRE_MFA: 'true' })
    const weak = await adminToken(app)
    const refused = await app.inject({ method: 'GET', url: '/v1/admin/users', headers: bearer(weak) })
    t.equal(refused.statusCode, 401)
    t.same(refused.json(), {
      error: 'insufficient_user_authentication',
      error_description:
        'This request needs a login with a second factor: log in again with your authenticator.',
    })
    t.match(refused.headers['www-authenticate'], /error="insufficient_user_authentication"/)
    const profile = await app.inject({ method: 'GET', url: '/v1/me', headers: bearer(weak) })
    t.equal(profile.statusCode, 200, 'routes without the admin scope are unchanged')
    const { secret } = await enableTotp(app, weak, clock, 'bootstrap admin password')
    const strong = await loginWithMfa(
      app,
      ADMIN_EMAIL,
      { otp: totpCode(secret, clock, 1) },
      'bootstrap admin password',
    )
    const allowed = await app.inject({
      method: 'GET',
      url: '/v1/admin/users',
      headers: bearer(strong.access_token),
    })
    t.equal(allowed.statusCode, 200)
  },
)
