import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, login, PASSWORD, passwordGrant, refreshGrant, signUp } from '../helpers/flows.js'
import { enableTotp, loginWithMfa, totpCode } from '../helpers/mfa.js'
import { deliverMail, startSmtpServer } from '../helpers/smtp.js'

// docs/contract.md §9: DELETE /v1/me with the current password ends the account and its
// sessions, mails a notice without a link, and frees the address.

await eachDialect(t, async (t, dialect) => {
  const smtp = await startSmtpServer(t)
  const { app, clock } = await buildTestApp(t, { MAIL_URL: smtp.url, EMAIL_VERIFICATION: 'off' }, dialect)
  const deleteMe = (token: string, current_password: string) =>
    app.inject({ method: 'DELETE', url: '/v1/me', headers: bearer(token), payload: { current_password } })

  await t.test('a wrong current password is 400 invalid_grant and deletes nothing', async (t) => {
    const { user, tokens } = await login(app)
    const res = await deleteMe(tokens.access_token, 'not my password')
    t.equal(res.statusCode, 400)
    t.same(res.json(), { error: 'invalid_grant', error_description: 'The current password is incorrect.' })
    t.equal((await passwordGrant(app, { username: user.email, password: PASSWORD })).statusCode, 200)
  })

  await t.test(
    'the account, its sessions and its links go; a notice is mailed; the address is free',
    async (t) => {
      const { user, tokens } = await login(app)
      const forgot = await app.inject({
        method: 'POST',
        url: '/v1/password/forgot',
        payload: { email: user.email },
      })
      t.equal(forgot.statusCode, 202)
      await deliverMail(app)
      const resetMail = smtp.mailsTo(user.email)[0]!
      const token = /#token=([A-Za-z0-9_-]{43})/.exec(resetMail.decoded)![1]!

      const res = await deleteMe(tokens.access_token, PASSWORD)
      t.equal(res.statusCode, 204)
      t.equal(res.body, '')
      t.equal((await refreshGrant(app, tokens.refresh_token)).json().error, 'invalid_grant', 'session gone')
      t.equal(
        (await passwordGrant(app, { username: user.email, password: PASSWORD })).json().error,
        'invalid_grant',
      )
      // The deletion revoked the access token at once (docs/revocation.md).
      const me = await app.inject({ url: '/v1/me', headers: bearer(tokens.access_token) })
      t.equal(me.statusCode, 401)
      t.equal(me.json().error, 'invalid_token')

      await deliverMail(app)
      const notice = smtp.mailsTo(user.email).find((m) => m.subject === 'Your account was deleted')
      t.ok(notice, 'a notice was mailed')
      t.notMatch(notice!.decoded, /https?:\/\//, 'with no link')

      const again = await signUp(app, user.email)
      t.not(again.id, user.id, 'the address signs up again, as a new account')
      const reset = await app.inject({
        method: 'POST',
        url: '/v1/password/reset',
        payload: { token, new_password: 'taking over the new account' },
      })
      t.equal(reset.json().error, 'invalid_link', "the old account's link cannot reach the new one")
    },
  )

  await t.test(
    'with a second factor enrolled, a password-only token gets the RFC 9470 challenge; a login with the factor deletes',
    async (t) => {
      // The token from before enrolment survives it (enrolling keeps the caller's session).
      const { user, tokens } = await login(app)
      const { secret } = await enableTotp(app, tokens.access_token, clock)
      const refused = await deleteMe(tokens.access_token, PASSWORD)
      t.equal(refused.statusCode, 401)
      t.equal(refused.json().error, 'insufficient_user_authentication')
      t.match(refused.headers['www-authenticate'], /error="insufficient_user_authentication"/)
      t.equal(
        (await app.inject({ url: '/v1/me', headers: bearer(tokens.access_token) })).statusCode,
        200,
        'still there',
      )

      clock.advance(30_000) // the enrolment's confirming code is spent: the next step's code
      const strong = await loginWithMfa(app, user.email, { otp: totpCode(secret, clock) })
      t.equal(
        (await deleteMe(strong.access_token, 'not my password')).json().error,
        'invalid_grant',
        'the password still counts',
      )
      t.equal((await deleteMe(strong.access_token, PASSWORD)).statusCode, 204)
    },
  )

  await t.test('needs an access token with profile:write', async (t) => {
    const res = await app.inject({ method: 'DELETE', url: '/v1/me', payload: { current_password: PASSWORD } })
    t.equal(res.statusCode, 401)
  })
})
