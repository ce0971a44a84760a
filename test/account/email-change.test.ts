import t from 'tap'
import { ADMIN_ENV, adminToken } from '../helpers/admin.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, login, PASSWORD, passwordGrant, signUp, uniqueEmail } from '../helpers/flows.js'
import { enableTotp, loginWithMfa, totpCode } from '../helpers/mfa.js'
import { deliverMail, linkToken, startSmtpServer } from '../helpers/smtp.js'

// docs/contract.md §9, docs/account.md "Email change": POST /v1/me/email mails a link to
// the new address and a notice without one to the old; the email changes only when the
// link is used, and uniqueness is decided at that moment.

await eachDialect(t, async (t, dialect) => {
  const smtp = await startSmtpServer(t)
  const { app, clock } = await buildTestApp(
    t,
    { MAIL_URL: smtp.url, EMAIL_VERIFICATION: 'off', ...ADMIN_ENV },
    dialect,
  )
  const requestChange = (accessToken: string, new_email: string, current_password = PASSWORD) =>
    app.inject({
      method: 'POST',
      url: '/v1/me/email',
      headers: bearer(accessToken),
      payload: { new_email, current_password },
    })
  const confirm = (token: string) =>
    app.inject({ method: 'POST', url: '/v1/email/verify', payload: { token } })
  const canLogIn = async (email: string) =>
    (await passwordGrant(app, { username: email, password: PASSWORD })).statusCode === 200
  /** Requests a change to `newEmail` and returns the token mailed to it. */
  const changeLink = async (accessToken: string, newEmail: string) => {
    const res = await requestChange(accessToken, newEmail)
    if (res.statusCode !== 202) throw new Error(`change request failed: ${res.statusCode} ${res.body}`)
    await deliverMail(app)
    const mails = smtp.mailsTo(newEmail)
    return linkToken(mails[mails.length - 1]!)
  }

  await t.test(
    'with a second factor enrolled, a password-only token gets the RFC 9470 challenge and nothing is mailed',
    async (t) => {
      const { user, tokens } = await login(app)
      const { secret } = await enableTotp(app, tokens.access_token, clock)
      const newEmail = uniqueEmail('stepup')
      const refused = await requestChange(tokens.access_token, newEmail)
      t.equal(refused.statusCode, 401)
      t.equal(refused.json().error, 'insufficient_user_authentication')
      t.match(refused.headers['www-authenticate'], /error="insufficient_user_authentication"/)
      await deliverMail(app)
      t.same(smtp.mailsTo(newEmail), [], 'no link went out')

      clock.advance(30_000)
      const strong = await loginWithMfa(app, user.email, { otp: totpCode(secret, clock) })
      t.ok(await changeLink(strong.access_token, newEmail), 'a login with the second factor may')
    },
  )

  await t.test('the link goes to the new address, a notice without a link to the old one', async (t) => {
    const { user, tokens } = await login(app)
    const newEmail = uniqueEmail('new')
    // Typed with spaces and capitals: normalised like a sign-up.
    const res = await requestChange(tokens.access_token, `  ${newEmail.toUpperCase()} `)
    t.equal(res.statusCode, 202)
    t.same(res.json(), {})
    await deliverMail(app)

    const [confirmation] = smtp.mailsTo(newEmail)
    t.equal(confirmation?.subject, 'Confirm your new email address')
    const token = linkToken(confirmation!)
    const [notice] = smtp.mailsTo(user.email)
    t.equal(notice?.subject, 'Your email address is being changed')
    t.notMatch(notice!.decoded, /https?:\/\//, 'the notice carries no link')
    t.notOk(notice!.decoded.includes(token), 'nor the token')
    t.notOk(notice!.decoded.includes(newEmail), 'nor the new address')

    t.ok(await canLogIn(user.email), 'before confirming, the old email still logs in')
    t.notOk(await canLogIn(newEmail), 'and the new one does not')

    const confirmed = await confirm(token)
    t.equal(confirmed.statusCode, 200)
    t.equal(confirmed.json().email, newEmail)
    t.equal(confirmed.json().email_verified, true)
    t.ok(await canLogIn(newEmail), 'after confirming, the new email logs in')
    t.notOk(await canLogIn(user.email), 'and the old one does not')
    t.equal((await confirm(token)).json().error, 'invalid_link', 'the link works once')

    const me = await app.inject({ url: '/v1/me', headers: bearer(tokens.access_token) })
    t.equal(me.json().email, newEmail)
    const again = await signUp(app, user.email)
    t.not(again.id, user.id, 'the old address is free to sign up')
  })

  await t.test('a wrong current password is 400 invalid_grant and mails nothing', async (t) => {
    const { tokens } = await login(app)
    const newEmail = uniqueEmail('unmailed')
    const res = await requestChange(tokens.access_token, newEmail, 'not my password')
    t.equal(res.statusCode, 400)
    t.same(res.json(), { error: 'invalid_grant', error_description: 'The current password is incorrect.' })
    await deliverMail(app)
    t.same(smtp.mailsTo(newEmail), [])
  })

  await t.test('the current email, or one another account has, is refused at once', async (t) => {
    const { user, tokens } = await login(app)
    const same = await requestChange(tokens.access_token, user.email.toUpperCase())
    t.equal(same.statusCode, 400)
    t.equal(same.json().error, 'invalid_request')
    const other = await signUp(app)
    const taken = await requestChange(tokens.access_token, other.email)
    t.equal(taken.statusCode, 409)
    t.equal(taken.json().error, 'email_taken')
  })

  await t.test('the address taken between request and confirmation: 409, nothing changes', async (t) => {
    const { user, tokens } = await login(app)
    const wanted = uniqueEmail('contested')
    const token = await changeLink(tokens.access_token, wanted)
    const squatter = await signUp(app, wanted)

    const res = await confirm(token)
    t.equal(res.statusCode, 409)
    t.equal(res.json().error, 'email_taken')
    const me = await app.inject({ url: '/v1/me', headers: bearer(tokens.access_token) })
    t.equal(me.json().email, user.email, 'the email stays as it was')
    t.ok(await canLogIn(user.email))
    const admin = await adminToken(app)
    const other = await app.inject({ url: `/v1/admin/users/${squatter.id}`, headers: bearer(admin) })
    t.equal(other.json().email, wanted, 'the other account keeps the address')
  })

  await t.test('two accounts confirming one address at once: the unique index decides', async (t) => {
    for (let round = 0; round < 3; round++) {
      const wanted = uniqueEmail('wanted')
      const first = await login(app)
      const second = await login(app)
      const tokens = [
        await changeLink(first.tokens.access_token, wanted),
        await changeLink(second.tokens.access_token, wanted),
      ]
      const answers = await Promise.all(tokens.map(confirm))
      t.same(answers.map((a) => a.statusCode).sort(), [200, 409], `round ${round}: one wins`)
      t.equal(answers.find((a) => a.statusCode === 409)!.json().error, 'email_taken')
      const winner = answers.findIndex((a) => a.statusCode === 200)
      const loser = [first, second][1 - winner]!
      t.ok(await canLogIn(loser.user.email), "the loser's email is unchanged")
    }
  })

  await t.test('two concurrent uses of one link: exactly one 200', async (t) => {
    for (let round = 0; round < 3; round++) {
      const { tokens } = await login(app)
      const newEmail = uniqueEmail('once')
      const token = await changeLink(tokens.access_token, newEmail)
      const answers = await Promise.all([confirm(token), confirm(token)])
      t.same(answers.map((a) => a.statusCode).sort(), [200, 400], `round ${round}`)
      t.equal(answers.find((a) => a.statusCode === 400)!.json().error, 'invalid_link')
    }
  })

  await t.test('a newer request replaces the older link', async (t) => {
    const { user, tokens } = await login(app)
    const older = await changeLink(tokens.access_token, uniqueEmail('older'))
    const newer = await changeLink(tokens.access_token, uniqueEmail('newer'))
    t.equal((await confirm(older)).json().error, 'invalid_link')
    t.equal((await confirm(newer)).statusCode, 200)
    t.notOk(await canLogIn(user.email))
  })

  await t.test('the link dies when the account changes state', async (t) => {
    await t.test('its email changes by another link', async (t) => {
      // A verification link for the old address dies with it too.
      const { user, tokens } = await login(app)
      const resend = await app.inject({
        method: 'POST',
        url: '/v1/me/email/verification',
        headers: bearer(tokens.access_token),
      })
      t.equal(resend.statusCode, 202)
      await deliverMail(app)
      const verifyOld = linkToken(smtp.mailsTo(user.email).at(-1)!)
      const change = await changeLink(tokens.access_token, uniqueEmail('moved'))
      t.equal((await confirm(change)).statusCode, 200)
      t.equal((await confirm(verifyOld)).json().error, 'invalid_link', 'the old verify link is dead')
    })

    await t.test('the account is disabled', async (t) => {
      const { user, tokens } = await login(app)
      const newEmail = uniqueEmail('disabled')
      const token = await changeLink(tokens.access_token, newEmail)
      const admin = await adminToken(app)
      const disable = await app.inject({
        method: 'PATCH',
        url: `/v1/admin/users/${user.id}`,
        headers: bearer(admin),
        payload: { disabled: true },
      })
      t.equal(disable.statusCode, 200)
      t.equal((await confirm(token)).json().error, 'invalid_link')
      const enable = await app.inject({
        method: 'PATCH',
        url: `/v1/admin/users/${user.id}`,
        headers: bearer(admin),
        payload: { disabled: false },
      })
      t.equal(enable.statusCode, 200)
      t.equal((await confirm(token)).json().error, 'invalid_link', 'and stays dead after re-enabling')
      t.ok(await canLogIn(user.email))
    })

    await t.test('the password changes', async (t) => {
      const { tokens } = await login(app)
      const token = await changeLink(tokens.access_token, uniqueEmail('repassworded'))
      const change = await app.inject({
        method: 'POST',
        url: '/v1/me/password',
        headers: bearer(tokens.access_token),
        payload: { current_password: PASSWORD, new_password: 'another long passphrase' },
      })
      t.equal(change.statusCode, 204)
      t.equal((await confirm(token)).json().error, 'invalid_link')
    })

    await t.test('the account is deleted', async (t) => {
      const { tokens } = await login(app)
      const token = await changeLink(tokens.access_token, uniqueEmail('gone'))
      const del = await app.inject({
        method: 'DELETE',
        url: '/v1/me',
        headers: bearer(tokens.access_token),
        payload: { current_password: PASSWORD },
      })
      t.equal(del.statusCode, 204)
      t.equal((await confirm(token)).json().error, 'invalid_link')
    })
  })

  await t.test('the change is an email.changed audit event without the token', async (t) => {
    const { user, tokens } = await login(app)
    const token = await changeLink(tokens.access_token, uniqueEmail('audited'))
    t.equal((await confirm(token)).statusCode, 200)
    const admin = await adminToken(app)
    const events = await app.inject({
      url: `/v1/admin/audit?user_id=${user.id}&type=email.changed`,
      headers: bearer(admin),
    })
    t.equal(events.statusCode, 200)
    t.equal(events.json().items.length, 1)
    t.notOk(events.body.includes(token))
  })

  await t.test('needs an access token with profile:write', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/me/email',
      payload: { new_email: uniqueEmail(), current_password: PASSWORD },
    })
    t.equal(res.statusCode, 401)
  })
})

await t.test('mail limits apply per recipient', async (t) => {
  await eachDialect(t, async (t, dialect) => {
    const smtp = await startSmtpServer(t)
    const { app } = await buildTestApp(
      t,
      { MAIL_URL: smtp.url, EMAIL_VERIFICATION: 'off', RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_MAIL: '2/1h' },
      dialect,
    )
    const { tokens } = await login(app)
    const target = uniqueEmail('flooded')
    const answers: number[] = []
    for (let i = 0; i < 3; i++) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/me/email',
        headers: bearer(tokens.access_token),
        payload: { new_email: target, current_password: PASSWORD },
      })
      answers.push(res.statusCode)
    }
    t.same(answers, [202, 202, 429])
    await deliverMail(app)
    t.equal(smtp.mailsTo(target).length, 2)
  })
})
