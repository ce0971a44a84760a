import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, PASSWORD, passwordGrant, signUp, uniqueEmail } from '../helpers/flows.js'
import { deliverMail, linkToken, startSmtpServer } from '../helpers/smtp.js'

// docs/contract.md §9: the sign-up link, resend, verify, and EMAIL_VERIFICATION modes, with
// every link read out of a mail that arrived over SMTP.

await eachDialect(t, async (t, dialect) => {
  const smtp = await startSmtpServer(t)
  const { app, clock } = await buildTestApp(t, { MAIL_URL: smtp.url }, dialect)

  const verify = (token: string) =>
    app.inject({ method: 'POST', url: '/v1/email/verify', payload: { token } })
  const lastLink = async (email: string) => {
    await deliverMail(app)
    const mails = smtp.mailsTo(email)
    return linkToken(mails[mails.length - 1]!)
  }

  await t.test('the link from the sign-up mail verifies the email, once', async (t) => {
    const user = await signUp(app)
    const token = await lastLink(user.email)
    const res = await verify(token)
    t.equal(res.statusCode, 200)
    t.equal(res.json().id, user.id)
    t.equal(res.json().email_verified, true)
    const login = (await passwordGrant(app, { username: user.email, password: PASSWORD })).json()
    const me = await app.inject({ url: '/v1/me', headers: bearer(login.access_token) })
    t.equal(me.json().email_verified, true)

    const again = await verify(token)
    t.equal(again.statusCode, 400)
    t.same(again.json(), {
      error: 'invalid_link',
      error_description: 'This link is invalid or has expired; ask for a new one.',
    })
  })

  await t.test('unknown, malformed and expired links are 400 invalid_link', async (t) => {
    for (const token of ['', 'x', 'A'.repeat(43), '../../etc/passwd']) {
      const res = await verify(token)
      t.equal(res.statusCode, 400)
      t.equal(res.json().error, 'invalid_link')
    }
    const user = await signUp(app)
    const token = await lastLink(user.email)
    clock.advance(86_400_000 + 1)
    t.equal((await verify(token)).json().error, 'invalid_link')
  })

  await t.test('resend mails a new link to the current address, and the older link dies', async (t) => {
    const user = await signUp(app)
    const first = await lastLink(user.email)
    const tokens = (await passwordGrant(app, { username: user.email, password: PASSWORD })).json()
    const res = await app.inject({
      method: 'POST',
      url: '/v1/me/email/verification',
      headers: bearer(tokens.access_token),
    })
    t.equal(res.statusCode, 202)
    t.same(res.json(), {})
    const second = await lastLink(user.email)
    t.not(second, first)
    t.equal((await verify(first)).json().error, 'invalid_link', 'superseded')
    t.equal((await verify(second)).statusCode, 200)

    // Verified: nothing more is sent.
    const before = smtp.mailsTo(user.email).length
    const after = await app.inject({
      method: 'POST',
      url: '/v1/me/email/verification',
      headers: bearer(tokens.access_token),
    })
    t.equal(after.statusCode, 202)
    await deliverMail(app)
    t.equal(smtp.mailsTo(user.email).length, before)
  })

  await t.test('resend needs a token with profile:read', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/v1/me/email/verification' })
    t.equal(res.statusCode, 401)
  })

  await t.test('a password change kills an outstanding verification link', async (t) => {
    const user = await signUp(app)
    const token = await lastLink(user.email)
    const login = (await passwordGrant(app, { username: user.email, password: PASSWORD })).json()
    const change = await app.inject({
      method: 'POST',
      url: '/v1/me/password',
      headers: bearer(login.access_token),
      payload: { current_password: PASSWORD, new_password: 'another passphrase' },
    })
    t.equal(change.statusCode, 204)
    t.equal((await verify(token)).json().error, 'invalid_link')
  })
})

await t.test('EMAIL_VERIFICATION=required', async (t) => {
  await eachDialect(t, async (t, dialect) => {
    const smtp = await startSmtpServer(t)
    const { app } = await buildTestApp(t, { MAIL_URL: smtp.url, EMAIL_VERIFICATION: 'required' }, dialect)

    await t.test(
      'refuses a correct password until the email is verified; a wrong one stays invalid_grant',
      async (t) => {
        const user = await signUp(app)
        const wrong = await passwordGrant(app, { username: user.email, password: 'not the password' })
        t.equal(wrong.statusCode, 400)
        t.equal(wrong.json().error, 'invalid_grant')
        const right = await passwordGrant(app, { username: user.email, password: PASSWORD })
        t.equal(right.statusCode, 400)
        t.same(right.json(), {
          error: 'email_not_verified',
          error_description: 'Verify your email address before signing in.',
        })
        await deliverMail(app)
        const token = linkToken(smtp.mailsTo(user.email)[0]!)
        t.equal(
          (await app.inject({ method: 'POST', url: '/v1/email/verify', payload: { token } })).statusCode,
          200,
        )
        t.equal((await passwordGrant(app, { username: user.email, password: PASSWORD })).statusCode, 200)
      },
    )
  })
})

await t.test('EMAIL_VERIFICATION=off sends no mail at sign-up', async (t) => {
  await eachDialect(t, async (t, dialect) => {
    const smtp = await startSmtpServer(t)
    const { app } = await buildTestApp(t, { MAIL_URL: smtp.url, EMAIL_VERIFICATION: 'off' }, dialect)
    const email = uniqueEmail()
    const user = await signUp(app, email)
    await deliverMail(app)
    t.equal(smtp.inbox.length, 0)
    t.equal((await passwordGrant(app, { username: user.email, password: PASSWORD })).statusCode, 200)
  })
})
