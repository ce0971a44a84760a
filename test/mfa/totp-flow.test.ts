import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, login, PASSWORD, passwordGrant, refreshGrant, uniqueEmail } from '../helpers/flows.js'
import { claimsOf, enableTotp, loginWithMfa, mfaGrant, totpCode } from '../helpers/mfa.js'

// docs/contract.md §10, end to end over HTTP: enrol, confirm, log in with a code, replay
// refused, a recovery code works once, disable.

await eachDialect(t, async (t, dialect) => {
  const { app, clock, database } = await buildTestApp(t, {}, dialect)
  const mfaStatus = async (token: string) =>
    (await app.inject({ method: 'GET', url: '/v1/me/mfa', headers: bearer(token) })).json()

  await t.test('enrolling needs the current password and changes nothing until confirmed', async (t) => {
    const { user, tokens } = await login(app)
    const wrong = await app.inject({
      method: 'POST',
      url: '/v1/me/mfa/totp',
      headers: bearer(tokens.access_token),
      payload: { current_password: 'not the password' },
    })
    t.equal(wrong.statusCode, 400)
    t.same(wrong.json(), { error: 'invalid_grant', error_description: 'The current password is incorrect.' })
    const res = await app.inject({
      method: 'POST',
      url: '/v1/me/mfa/totp',
      headers: bearer(tokens.access_token),
      payload: { current_password: PASSWORD },
    })
    t.equal(res.statusCode, 201)
    t.equal(res.headers['cache-control'], 'no-store')
    const body = res.json()
    t.match(body.secret, /^[A-Z2-7]{32}$/)
    const uri = new URL(body.otpauth_uri)
    t.equal(uri.protocol, 'otpauth:')
    t.equal(uri.searchParams.get('secret'), body.secret)
    t.equal(decodeURIComponent(uri.pathname), `/badge.test:${user.email}`)
    t.match(body.qr_svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/)
    t.same(await mfaStatus(tokens.access_token), { totp: false, passkeys: 0, recovery_codes_left: 0 })
    const again = await passwordGrant(app, { username: user.email, password: PASSWORD })
    t.equal(again.statusCode, 200, 'a pending authenticator does not change logins')
  })

  await t.test(
    'confirming needs a right code, returns 10 single-use recovery codes, and ends other sessions',
    async (t) => {
      const { user, tokens } = await login(app)
      const other = (await passwordGrant(app, { username: user.email, password: PASSWORD })).json()
      const enrol = await app.inject({
        method: 'POST',
        url: '/v1/me/mfa/totp',
        headers: bearer(tokens.access_token),
        payload: { current_password: PASSWORD },
      })
      const { secret } = enrol.json()
      const wrongCode = totpCode(secret, clock, 3)
      const wrong = await app.inject({
        method: 'POST',
        url: '/v1/me/mfa/totp/confirm',
        headers: bearer(tokens.access_token),
        payload: { code: wrongCode },
      })
      t.equal(wrong.statusCode, 400)
      t.same(wrong.json(), { error: 'invalid_grant', error_description: 'The code is incorrect.' })
      const res = await app.inject({
        method: 'POST',
        url: '/v1/me/mfa/totp/confirm',
        headers: bearer(tokens.access_token),
        payload: { code: totpCode(secret, clock) },
      })
      t.equal(res.statusCode, 200)
      const codes: string[] = res.json().recovery_codes
      t.equal(codes.length, 10)
      t.equal(new Set(codes).size, 10)
      for (const code of codes) t.match(code, /^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/)
      t.same(await mfaStatus(tokens.access_token), { totp: true, passkeys: 0, recovery_codes_left: 10 })
      const stored = JSON.stringify(await database.db.selectFrom('recovery_codes').selectAll().execute())
      for (const code of codes) t.notOk(stored.includes(code), 'recovery codes are stored only as hashes')
      t.equal((await refreshGrant(app, other.refresh_token)).statusCode, 400, 'another session ended')
      t.equal((await refreshGrant(app, tokens.refresh_token)).statusCode, 200, 'the calling session stays')
      const confirmAgain = await app.inject({
        method: 'POST',
        url: '/v1/me/mfa/totp/confirm',
        headers: bearer(tokens.access_token),
        payload: { code: totpCode(secret, clock, 1) },
      })
      t.equal(confirmAgain.statusCode, 409)
    },
  )

  await t.test(
    'a correct password answers mfa_required; the code finishes the login with amr and auth_time',
    async (t) => {
      const { user, tokens } = await login(app)
      const { secret } = await enableTotp(app, tokens.access_token, clock)
      clock.advance(30_000)
      const loggedInAt = Math.floor(clock() / 1000)
      const wrongPassword = await passwordGrant(app, { username: user.email, password: 'wrong password!' })
      t.same(wrongPassword.json(), {
        error: 'invalid_grant',
        error_description: 'The email or password is incorrect.',
      })
      const first = await passwordGrant(app, { username: user.email, password: PASSWORD })
      t.equal(first.statusCode, 400)
      t.equal(first.headers['cache-control'], 'no-store')
      const body = first.json()
      t.same(Object.keys(body).sort(), ['error', 'error_description', 'mfa_methods', 'mfa_token'])
      t.equal(body.error, 'mfa_required')
      t.same(body.mfa_methods, ['totp', 'recovery_code'])
      t.match(body.mfa_token, /^[A-Za-z0-9_-]{43}$/)
      const res = await mfaGrant(app, { mfa_token: body.mfa_token, otp: totpCode(secret, clock) })
      t.equal(res.statusCode, 200)
      const claims = claimsOf(res.json().access_token)
      t.same(claims.amr, ['pwd', 'otp', 'mfa'])
      t.equal(claims.auth_time, loggedInAt)
      const me = await app.inject({
        method: 'GET',
        url: '/v1/me/claims',
        headers: bearer(res.json().access_token),
      })
      t.same(me.json().amr, ['pwd', 'otp', 'mfa'])
      t.equal(me.json().auth_time, loggedInAt)
      clock.advance(600_000)
      const refreshed = await refreshGrant(app, res.json().refresh_token)
      t.equal(refreshed.statusCode, 200)
      const after = claimsOf(refreshed.json().access_token)
      t.same(after.amr, ['pwd', 'otp', 'mfa'], 'refresh keeps the session amr')
      t.equal(after.auth_time, loggedInAt, 'refresh keeps the login time')
      t.equal(claimsOf(tokens.access_token).amr?.toString(), 'pwd', 'a password login says pwd')
    },
  )

  await t.test('a code is accepted once: the replay is refused, the next step works', async (t) => {
    const { user, tokens } = await login(app)
    const { secret } = await enableTotp(app, tokens.access_token, clock)
    clock.advance(30_000)
    const code = totpCode(secret, clock)
    await loginWithMfa(app, user.email, { otp: code })
    const first = (await passwordGrant(app, { username: user.email, password: PASSWORD })).json()
    const replay = await mfaGrant(app, { mfa_token: first.mfa_token, otp: code })
    t.equal(replay.statusCode, 400)
    t.same(replay.json(), {
      error: 'invalid_grant',
      error_description: 'The mfa_token or the code is invalid, expired or used up.',
    })
    const previous = await mfaGrant(app, { mfa_token: first.mfa_token, otp: totpCode(secret, clock, -1) })
    t.equal(previous.statusCode, 400, 'an earlier step after a later one is refused too')
    clock.advance(30_000)
    const next = await mfaGrant(app, { mfa_token: first.mfa_token, otp: totpCode(secret, clock) })
    t.equal(next.statusCode, 200)
    clock.advance(30_000)
    const spent = await mfaGrant(app, { mfa_token: first.mfa_token, otp: totpCode(secret, clock) })
    t.equal(spent.statusCode, 400, 'an mfa_token is spent by its success')
  })

  await t.test('one code sent with two logins at once finishes exactly one of them', async (t) => {
    const { user, tokens } = await login(app)
    const { secret } = await enableTotp(app, tokens.access_token, clock)
    clock.advance(30_000)
    const code = totpCode(secret, clock)
    const [a, b] = await Promise.all([
      passwordGrant(app, { username: user.email, password: PASSWORD }),
      passwordGrant(app, { username: user.email, password: PASSWORD }),
    ])
    const answers = await Promise.all([
      mfaGrant(app, { mfa_token: a.json().mfa_token, otp: code }),
      mfaGrant(app, { mfa_token: b.json().mfa_token, otp: code }),
    ])
    t.same(answers.map((r) => r.statusCode).sort(), [200, 400])
  })

  await t.test('an mfa_token allows 5 attempts and lives 5 minutes', async (t) => {
    const { user, tokens } = await login(app)
    const { secret } = await enableTotp(app, tokens.access_token, clock)
    clock.advance(30_000)
    const wrong = totpCode(secret, clock, 5)
    const first = (await passwordGrant(app, { username: user.email, password: PASSWORD })).json()
    for (let i = 0; i < 5; i++)
      t.equal((await mfaGrant(app, { mfa_token: first.mfa_token, otp: wrong })).statusCode, 400)
    const sixth = await mfaGrant(app, { mfa_token: first.mfa_token, otp: totpCode(secret, clock) })
    t.equal(sixth.statusCode, 400, 'a right code after 5 failures is refused')
    const second = (await passwordGrant(app, { username: user.email, password: PASSWORD })).json()
    clock.advance(5 * 60_000 + 1000)
    const late = await mfaGrant(app, { mfa_token: second.mfa_token, otp: totpCode(secret, clock) })
    t.equal(late.statusCode, 400, 'an expired mfa_token is refused')
  })

  await t.test('the mfa grant needs exactly one of otp and recovery_code, and the same client', async (t) => {
    const { user, tokens } = await login(app)
    const { secret } = await enableTotp(app, tokens.access_token, clock)
    clock.advance(30_000)
    const first = (await passwordGrant(app, { username: user.email, password: PASSWORD })).json()
    const none = await mfaGrant(app, { mfa_token: first.mfa_token })
    t.equal(none.statusCode, 400)
    t.equal(none.json().error, 'invalid_request')
    const both = await mfaGrant(app, { mfa_token: first.mfa_token, otp: '123456', recovery_code: 'x' })
    t.equal(both.json().error, 'invalid_request')
    const noToken = await mfaGrant(app, { otp: '123456' })
    t.equal(noToken.json().error, 'invalid_request')
    const otherClient = await mfaGrant(app, {
      mfa_token: first.mfa_token,
      otp: totpCode(secret, clock),
      client_id: 'another-app',
    })
    t.equal(otherClient.statusCode, 400)
    t.equal(otherClient.json().error, 'invalid_grant')
    const sameClient = await mfaGrant(app, { mfa_token: first.mfa_token, otp: totpCode(secret, clock) })
    t.equal(sameClient.statusCode, 200, 'the other client spent neither the code nor the mfa_token')
  })

  await t.test('a recovery code finishes a login once', async (t) => {
    const { user, tokens } = await login(app)
    const { recoveryCodes } = await enableTotp(app, tokens.access_token, clock)
    const code = recoveryCodes[3]!
    const result = await loginWithMfa(app, user.email, { recovery_code: code.toUpperCase() })
    t.same(claimsOf(result.access_token).amr, ['pwd', 'otp', 'mfa'])
    t.equal((await mfaStatus(result.access_token)).recovery_codes_left, 9)
    const first = (await passwordGrant(app, { username: user.email, password: PASSWORD })).json()
    const again = await mfaGrant(app, { mfa_token: first.mfa_token, recovery_code: code })
    t.equal(again.statusCode, 400)
    t.equal(again.json().error, 'invalid_grant')
  })

  await t.test('a password change while the second factor is pending leaves nothing to finish', async (t) => {
    const { user, tokens } = await login(app)
    const { secret } = await enableTotp(app, tokens.access_token, clock)
    clock.advance(30_000)
    const first = (await passwordGrant(app, { username: user.email, password: PASSWORD })).json()
    const change = await app.inject({
      method: 'POST',
      url: '/v1/me/password',
      headers: bearer(tokens.access_token),
      payload: { current_password: PASSWORD, new_password: 'a brand new password' },
    })
    t.equal(change.statusCode, 204)
    const res = await mfaGrant(app, { mfa_token: first.mfa_token, otp: totpCode(secret, clock) })
    t.equal(res.statusCode, 400)
    t.equal(res.json().error, 'invalid_grant')
  })

  await t.test('disabling needs a login with a second factor and the current password', async (t) => {
    const email = uniqueEmail()
    const { tokens } = await login(app, email)
    const { secret } = await enableTotp(app, tokens.access_token, clock)
    const disable = (token: string, password = PASSWORD) =>
      app.inject({
        method: 'DELETE',
        url: '/v1/me/mfa/totp',
        headers: bearer(token),
        payload: { current_password: password },
      })
    const passwordOnly = await disable(tokens.access_token)
    t.equal(passwordOnly.statusCode, 401)
    t.equal(passwordOnly.json().error, 'insufficient_user_authentication')
    t.match(
      passwordOnly.headers['www-authenticate'],
      /^Bearer realm="badge", error="insufficient_user_authentication"/,
    )
    clock.advance(30_000)
    const strong = await loginWithMfa(app, email, { otp: totpCode(secret, clock) })
    const wrong = await disable(strong.access_token, 'not the password')
    t.equal(wrong.statusCode, 400)
    t.equal(wrong.json().error, 'invalid_grant')
    t.equal((await disable(strong.access_token)).statusCode, 204)
    t.same(await mfaStatus(strong.access_token), { totp: false, passkeys: 0, recovery_codes_left: 0 })
    t.equal((await passwordGrant(app, { username: email, password: PASSWORD })).statusCode, 200)
    t.equal((await disable(strong.access_token)).statusCode, 404, 'nothing left to disable')
    // The user's own security history shows the second factor coming and going, once each.
    const events = await app.inject({ url: '/v1/me/events?limit=100', headers: bearer(strong.access_token) })
    const mfaEvents = (events.json().items as Array<{ type: string; details: Record<string, unknown> }>)
      .filter((e) => e.type.startsWith('mfa.'))
      .map((e) => [e.type, e.details.method])
      .reverse()
    t.same(mfaEvents, [
      ['mfa.enabled', 'totp'],
      ['mfa.disabled', 'totp'],
    ])
  })
})

t.test('with KEY_ENCRYPTION_SECRET the TOTP secret is sealed at rest, bound to its user', async (t) => {
  const { app, clock, database } = await buildTestApp(t, { KEY_ENCRYPTION_SECRET: 'a-long-operator-secret' })
  const { user, tokens } = await login(app)
  const { secret } = await enableTotp(app, tokens.access_token, clock)
  const row = await database.db
    .selectFrom('user_totp')
    .selectAll()
    .where('user_id', '=', user.id)
    .executeTakeFirstOrThrow()
  t.match(row.secret_enc, /^enc:v1:/)
  t.notOk(row.secret_enc.includes(secret))
  clock.advance(30_000)
  await loginWithMfa(app, user.email, { otp: totpCode(secret, clock) })
  t.pass('a sealed secret still checks codes')
})
