import t from 'tap'
import { ADMIN_ENV, adminToken } from '../helpers/admin.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import {
  bearer,
  login,
  PASSWORD,
  passwordGrant,
  refreshGrant,
  signUp,
  uniqueEmail,
} from '../helpers/flows.js'
import { buildHttpTestApp } from '../helpers/http-app.js'
import { deliverMail, linkToken, startSmtpServer } from '../helpers/smtp.js'

// docs/contract.md §9: forgot → mailed link → reset, enumeration-proof, single-use,
// bound to the account's state, and through the credential fence.

const NEW_PASSWORD = 'a freshly reset passphrase'

await eachDialect(t, async (t, dialect) => {
  const smtp = await startSmtpServer(t)
  const { app, clock } = await buildTestApp(
    t,
    { MAIL_URL: smtp.url, EMAIL_VERIFICATION: 'off', ...ADMIN_ENV },
    dialect,
  )

  const forgot = (email: string) =>
    app.inject({ method: 'POST', url: '/v1/password/forgot', payload: { email } })
  const reset = (token: string, new_password = NEW_PASSWORD) =>
    app.inject({ method: 'POST', url: '/v1/password/reset', payload: { token, new_password } })
  const resetLink = async (email: string) => {
    const res = await forgot(email)
    if (res.statusCode !== 202) throw new Error(`forgot failed: ${res.statusCode}`)
    await deliverMail(app)
    const mails = smtp.mailsTo(email)
    return linkToken(mails[mails.length - 1]!)
  }

  await t.test(
    'known, unknown and disabled accounts get the same 202; only the known one gets mail',
    async (t) => {
      const known = await signUp(app)
      const disabled = await signUp(app)
      const admin = await adminToken(app)
      const patch = await app.inject({
        method: 'PATCH',
        url: `/v1/admin/users/${disabled.id}`,
        headers: bearer(admin),
        payload: { disabled: true },
      })
      t.equal(patch.statusCode, 200)
      const unknown = uniqueEmail('nobody')
      const answers = [await forgot(known.email), await forgot(unknown), await forgot(disabled.email)]
      for (const res of answers) {
        t.equal(res.statusCode, 202)
        t.equal(res.body, answers[0]!.body, 'byte-identical bodies')
        t.equal(res.headers['content-type'], answers[0]!.headers['content-type'])
      }
      t.equal(answers[0]!.body, '{}')
      await deliverMail(app)
      t.equal(smtp.mailsTo(known.email).length, 1)
      t.equal(smtp.mailsTo(unknown).length, 0)
      t.equal(smtp.mailsTo(disabled.email).length, 0)
      const mail = smtp.mailsTo(known.email)[0]!
      t.equal(mail.subject, 'Reset your password')
      t.match(mail.decoded, /http:\/\/badge\.test\/account\/reset-password#token=[A-Za-z0-9_-]{43}/)
      t.match(mail.decoded, /If you did not ask for this/)
    },
  )

  await t.test('the link sets the password, verifies the email and ends every session', async (t) => {
    const { user, tokens } = await login(app)
    const token = await resetLink(user.email)
    const res = await reset(token)
    t.equal(res.statusCode, 204)
    t.equal(res.body, '')
    const old = await passwordGrant(app, { username: user.email, password: PASSWORD })
    t.equal(old.json().error, 'invalid_grant')
    const refreshed = await refreshGrant(app, tokens.refresh_token)
    t.equal(refreshed.statusCode, 400)
    t.equal(refreshed.json().error, 'invalid_grant', 'the session from before the reset is revoked')
    const fresh = await passwordGrant(app, { username: user.email, password: NEW_PASSWORD })
    t.equal(fresh.statusCode, 200)
    const me = await app.inject({ url: '/v1/me', headers: bearer(fresh.json().access_token) })
    t.equal(me.json().email_verified, true, 'the link proved the address')
  })

  await t.test('a link works once', async (t) => {
    const user = await signUp(app)
    const token = await resetLink(user.email)
    t.equal((await reset(token)).statusCode, 204)
    const again = await reset(token, 'yet another passphrase')
    t.equal(again.statusCode, 400)
    t.same(again.json(), {
      error: 'invalid_link',
      error_description: 'This link is invalid or has expired; ask for a new one.',
    })
    t.equal((await passwordGrant(app, { username: user.email, password: NEW_PASSWORD })).statusCode, 200)
  })

  await t.test('a link dies at PASSWORD_RESET_TTL', async (t) => {
    const user = await signUp(app)
    const token = await resetLink(user.email)
    clock.advance(1800 * 1000)
    t.equal((await reset(token)).json().error, 'invalid_link')
    t.equal((await passwordGrant(app, { username: user.email, password: PASSWORD })).statusCode, 200)
  })

  await t.test('a newer link supersedes an older one', async (t) => {
    const user = await signUp(app)
    const first = await resetLink(user.email)
    const second = await resetLink(user.email)
    t.equal((await reset(first)).json().error, 'invalid_link')
    t.equal((await reset(second)).statusCode, 204)
  })

  await t.test('a link dies when the password changes another way', async (t) => {
    const { user, tokens } = await login(app)
    const token = await resetLink(user.email)
    const change = await app.inject({
      method: 'POST',
      url: '/v1/me/password',
      headers: bearer(tokens.access_token),
      payload: { current_password: PASSWORD, new_password: 'changed the usual way' },
    })
    t.equal(change.statusCode, 204)
    t.equal((await reset(token)).json().error, 'invalid_link')
  })

  await t.test('a link dies when the account is disabled, and stays dead after re-enabling', async (t) => {
    const user = await signUp(app)
    const token = await resetLink(user.email)
    const admin = await adminToken(app)
    for (const disabled of [true, false]) {
      const res = await app.inject({
        method: 'PATCH',
        url: `/v1/admin/users/${user.id}`,
        headers: bearer(admin),
        payload: { disabled },
      })
      t.equal(res.statusCode, 200)
    }
    t.equal((await reset(token)).json().error, 'invalid_link')
  })

  await t.test('a link dies with its account, even if the address signs up again', async (t) => {
    const user = await signUp(app)
    const token = await resetLink(user.email)
    const admin = await adminToken(app)
    const res = await app.inject({
      method: 'DELETE',
      url: `/v1/admin/users/${user.id}`,
      headers: bearer(admin),
    })
    t.equal(res.statusCode, 204)
    await signUp(app, user.email)
    t.equal((await reset(token)).json().error, 'invalid_link')
    t.equal((await passwordGrant(app, { username: user.email, password: PASSWORD })).statusCode, 200)
  })

  await t.test('a bad new password is 400 invalid_request and leaves the link usable', async (t) => {
    const user = await signUp(app)
    const token = await resetLink(user.email)
    const short = await reset(token, 'short')
    t.equal(short.statusCode, 400)
    t.equal(short.json().error, 'invalid_request')
    t.equal((await reset(token)).statusCode, 204)
  })

  await t.test('a malformed forgot request is 400 invalid_request', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/password/forgot',
      payload: { email: 'not an email' },
    })
    t.equal(res.statusCode, 400)
    t.equal(res.json().error, 'invalid_request')
  })

  await t.test('two concurrent resets with one link over HTTP: one 204, one invalid_link', async (t) => {
    const http = await buildHttpTestApp(
      t,
      { MAIL_URL: smtp.url, EMAIL_VERIFICATION: 'off', BCRYPT_COST: '8' },
      dialect,
    )
    const email = uniqueEmail('race')
    const signup = await fetch(`${http.base}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    })
    t.equal(signup.status, 201)
    for (let round = 0; round < 5; round++) {
      await fetch(`${http.base}/v1/password/forgot`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email }),
      })
      await deliverMail(http.app)
      const mails = smtp.mailsTo(email)
      const token = linkToken(mails[mails.length - 1]!)
      const passwords = [`first racer ${round}`, `second racer ${round}`]
      const answers = await Promise.all(
        passwords.map((new_password) =>
          fetch(`${http.base}/v1/password/reset`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ token, new_password }),
          }).then(async (r) => ({ status: r.status, body: await r.text() })),
        ),
      )
      const statuses = answers.map((a) => a.status).sort()
      t.same(statuses, [204, 400], `round ${round}: exactly one reset wins`)
      const loser = answers.find((a) => a.status === 400)!
      t.equal(JSON.parse(loser.body).error, 'invalid_link')
      const winner = passwords[answers.findIndex((a) => a.status === 204)]!
      const logins = await Promise.all(
        passwords.map((password) => passwordGrant(http.app, { username: email, password })),
      )
      t.same(
        logins.map((l) => l.statusCode),
        passwords.map((p) => (p === winner ? 200 : 400)),
        "the winner's password is the one set",
      )
    }
  })
})

await t.test('abuse limits', async (t) => {
  await eachDialect(t, async (t, dialect) => {
    const smtp = await startSmtpServer(t)
    const { app } = await buildTestApp(
      t,
      {
        MAIL_URL: smtp.url,
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_MAIL: '2/1h',
        RATE_LIMIT_MAIL_ADDRESS: '5/1h',
      },
      dialect,
    )
    const forgot = (email: string, address = '10.0.0.1') =>
      app.inject({ method: 'POST', url: '/v1/password/forgot', payload: { email }, remoteAddress: address })

    await t.test('per recipient: known and unknown addresses alike, then 429 with Retry-After', async (t) => {
      const known = await signUp(app)
      const unknown = uniqueEmail('nobody')
      for (const email of [known.email, unknown]) {
        t.equal((await forgot(email, '10.0.1.1')).statusCode, 202)
        t.equal((await forgot(email, '10.0.1.2')).statusCode, 202)
        const third = await forgot(email, '10.0.1.3')
        t.equal(third.statusCode, 429)
        t.equal(third.json().error, 'too_many_requests')
        t.ok(Number(third.headers['retry-after']) > 0)
      }
      await deliverMail(app)
      t.equal(smtp.mailsTo(known.email).filter((m) => m.subject === 'Reset your password').length, 2)
    })

    await t.test('per client address, over any number of recipients', async (t) => {
      for (let i = 0; i < 5; i++) t.equal((await forgot(uniqueEmail(), '10.0.2.1')).statusCode, 202)
      const sixth = await forgot(uniqueEmail(), '10.0.2.1')
      t.equal(sixth.statusCode, 429)
      t.equal(sixth.json().error, 'too_many_requests')
    })
  })
})
