import t from 'tap'
import { WEBAUTHN_CHALLENGE_TTL_MS } from '../../src/passkeys/passkey-session.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, login } from '../helpers/flows.js'
import { passkeyGrant, passkeyLoginOptions, SoftwareAuthenticator } from '../helpers/webauthn.js'

// docs/contract.md §10: ceremony challenges live 5 minutes and are spent by their first
// use. The maintenance pass (src/maintenance.ts, with the session purge) drops the ones
// that can no longer be used, and only those: a live one still completes its ceremony.

const authenticator = () => new SoftwareAuthenticator({ origin: 'http://badge.test', rpId: 'badge.test' })

await eachDialect(t, async (t, dialect) => {
  await t.test('the maintenance pass drops used and expired challenges and keeps live ones', async (t) => {
    const { app, clock, database } = await buildTestApp(t, {}, dialect)
    const { tokens } = await login(app)
    const registrationOptions = async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/me/passkeys/options',
        headers: bearer(tokens.access_token),
      })
      t.equal(res.statusCode, 200)
      return res.json()
    }
    const register = (device: SoftwareAuthenticator, options: unknown) =>
      app.inject({
        method: 'POST',
        url: '/v1/me/passkeys',
        headers: bearer(tokens.access_token),
        payload: { response: device.create(options as { challenge: string; user: { id: string } }) },
      })
    const stored = async () =>
      (await database.db.selectFrom('webauthn_challenges').select('challenge').execute())
        .map((r) => r.challenge)
        .sort()

    // Spent: one registration and one login, both within their 5 minutes.
    const device = authenticator()
    const usedRegistration = await registrationOptions()
    t.equal((await register(device, usedRegistration)).statusCode, 201)
    const usedLogin = await passkeyLoginOptions(app)
    const first = await passkeyGrant(app, {
      passkey_session: usedLogin.passkey_session,
      credential: JSON.stringify(device.get(usedLogin.options)),
    })
    t.equal(first.statusCode, 200)

    // Never used, and expiring exactly when the pass runs (unusable from that instant).
    const expiredRegistration = await registrationOptions()
    const expiredLogin = await passkeyLoginOptions(app)
    const expiresAt = clock() + WEBAUTHN_CHALLENGE_TTL_MS

    // Never used and still live when the pass runs.
    clock.advance(60_000)
    const liveRegistration = await registrationOptions()
    const liveLogin = await passkeyLoginOptions(app)

    const all = [
      usedRegistration.challenge,
      usedLogin.options.challenge,
      expiredRegistration.challenge,
      expiredLogin.options.challenge,
      liveRegistration.challenge,
      liveLogin.options.challenge,
    ]
    t.same(await stored(), [...all].sort(), 'every ceremony left its challenge behind')

    clock.set(expiresAt)
    await app.services.maintenance.run()
    t.same(
      await stored(),
      [liveRegistration.challenge, liveLogin.options.challenge].sort(),
      'only the unused, unexpired challenges are left',
    )

    const late = await passkeyGrant(app, {
      passkey_session: expiredLogin.passkey_session,
      credential: JSON.stringify(device.get(expiredLogin.options)),
    })
    t.equal(late.statusCode, 400, 'the expired passkey_session stays refused')
    t.equal(late.json().error, 'invalid_grant')

    const loggedIn = await passkeyGrant(app, {
      passkey_session: liveLogin.passkey_session,
      credential: JSON.stringify(device.get(liveLogin.options)),
    })
    t.equal(loggedIn.statusCode, 200, 'the live login challenge still logs in')
    t.type(loggedIn.json().access_token, 'string')
    const second = authenticator()
    t.equal((await register(second, liveRegistration)).statusCode, 201, 'the live registration completes')
    const listed = await app.inject({
      method: 'GET',
      url: '/v1/me/passkeys',
      headers: bearer(tokens.access_token),
    })
    t.equal(listed.json().passkeys.length, 2)
  })
})
