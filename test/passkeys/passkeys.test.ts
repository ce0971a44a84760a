import t from 'tap'
import { ADMIN_ENV, adminToken } from '../helpers/admin.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { bearer, login, PASSWORD, passwordGrant, refreshGrant } from '../helpers/flows.js'
import { claimsOf, mfaGrant } from '../helpers/mfa.js'
import {
  loginWithPasskey,
  passkeyGrant,
  passkeyLoginOptions,
  registerPasskey,
  SoftwareAuthenticator,
} from '../helpers/webauthn.js'

// docs/contract.md §10, passkeys over HTTP with a software authenticator: register, list,
// rename, remove; log in with a passkey alone, or use one as the second factor.

const ORIGIN = 'http://badge.test'
const authenticator = (opts: { backupEligible?: boolean; userVerified?: boolean; origin?: string } = {}) =>
  new SoftwareAuthenticator({ origin: ORIGIN, rpId: 'badge.test', ...opts })

await eachDialect(t, async (t, dialect) => {
  const { app, clock, database } = await buildTestApp(t, ADMIN_ENV, dialect)
  const get = (url: string, token: string) => app.inject({ method: 'GET', url, headers: bearer(token) })

  await t.test('a signed-in user registers a passkey, lists it, and sees it in the MFA status', async (t) => {
    const { user, tokens } = await login(app)
    const options = await app.inject({
      method: 'POST',
      url: '/v1/me/passkeys/options',
      headers: bearer(tokens.access_token),
    })
    t.equal(options.statusCode, 200)
    t.equal(options.headers['cache-control'], 'no-store')
    const body = options.json()
    t.equal(body.rp.id, 'badge.test')
    t.equal(body.user.name, user.email)
    t.equal(body.attestation, 'none')
    t.equal(body.authenticatorSelection.residentKey, 'required')
    t.match(body.challenge, /^[A-Za-z0-9_-]{40,}$/)

    const device = authenticator()
    const res = await app.inject({
      method: 'POST',
      url: '/v1/me/passkeys',
      headers: bearer(tokens.access_token),
      payload: { response: device.create(body), name: 'Laptop' },
    })
    t.equal(res.statusCode, 201)
    const created = res.json()
    t.same(Object.keys(created).sort(), ['created_at', 'id', 'last_used_at', 'name'])
    t.equal(created.name, 'Laptop')
    const list = await get('/v1/me/passkeys', tokens.access_token)
    t.same(list.json(), { passkeys: [created] })
    t.same((await get('/v1/me/mfa', tokens.access_token)).json(), {
      totp: false,
      passkeys: 1,
      recovery_codes_left: 0,
    })
    const events = (await get('/v1/me/events?limit=100', tokens.access_token)).json().items
    t.ok(
      events.some((e: { type: string }) => e.type === 'passkey.added'),
      'passkey.added is audited',
    )

    const again = await app.inject({
      method: 'POST',
      url: '/v1/me/passkeys',
      headers: bearer(tokens.access_token),
      payload: { response: device.create(body) },
    })
    t.equal(again.statusCode, 400, 'a registration challenge is spent by its first use')
    t.equal(again.json().error, 'invalid_grant')
    const nextOptions = await app.inject({
      method: 'POST',
      url: '/v1/me/passkeys/options',
      headers: bearer(tokens.access_token),
    })
    t.same(
      nextOptions.json().excludeCredentials.map((c: { id: string }) => c.id),
      [device.id],
      'registered passkeys are excluded from the next registration',
    )
  })

  await t.test("another user's challenge and a wrong origin are refused at registration", async (t) => {
    const alice = await login(app)
    const bob = await login(app)
    const aliceOptions = (
      await app.inject({
        method: 'POST',
        url: '/v1/me/passkeys/options',
        headers: bearer(alice.tokens.access_token),
      })
    ).json()
    const stolen = await app.inject({
      method: 'POST',
      url: '/v1/me/passkeys',
      headers: bearer(bob.tokens.access_token),
      payload: { response: authenticator().create(aliceOptions) },
    })
    t.equal(stolen.statusCode, 400)
    t.equal(stolen.json().error, 'invalid_grant')

    const hostile = authenticator({ origin: 'http://evil.test' })
    const res = await registerPasskey(app, bob.tokens.access_token, hostile)
    t.equal(res.statusCode, 400)
    t.same(res.json(), {
      error: 'invalid_grant',
      error_description: 'The passkey response could not be verified.',
    })
    t.equal((await get('/v1/me/passkeys', bob.tokens.access_token)).json().passkeys.length, 0)
  })

  await t.test('a passkey logs in alone, with hwk, user and mfa in amr, kept across refresh', async (t) => {
    const { user, tokens } = await login(app)
    const device = authenticator()
    t.equal((await registerPasskey(app, tokens.access_token, device)).statusCode, 201)
    const res = await loginWithPasskey(app, device)
    t.equal(res.statusCode, 200)
    const claims = claimsOf(res.json().access_token)
    t.equal(claims.sub, user.id)
    t.same(claims.amr, ['hwk', 'user', 'mfa'])
    t.type(claims.auth_time, 'number')
    const refreshed = await refreshGrant(app, res.json().refresh_token)
    t.same(claimsOf(refreshed.json().access_token).amr, ['hwk', 'user', 'mfa'])
    const shown = (await get('/v1/me/claims', refreshed.json().access_token)).json()
    t.same(shown.amr, ['hwk', 'user', 'mfa'], 'GET /v1/me/claims shows how the user logged in')
    const listed = (await get('/v1/me/passkeys', tokens.access_token)).json().passkeys
    t.not(listed[0].last_used_at, null, 'the use is recorded')
  })

  await t.test('a synced (backup-eligible) passkey is swk', async (t) => {
    const { tokens } = await login(app)
    const device = authenticator({ backupEligible: true })
    await registerPasskey(app, tokens.access_token, device)
    const res = await loginWithPasskey(app, device)
    t.same(claimsOf(res.json().access_token).amr, ['swk', 'user', 'mfa'])
  })

  await t.test('an assertion that changes backup eligibility is refused and changes nothing', async (t) => {
    // docs/contract.md §10: eligibility (BE) is fixed at registration; a change means another credential.
    for (const eligible of [false, true]) {
      await t.test(
        `registered with BE=${Number(eligible)}, asserted with BE=${Number(!eligible)}`,
        async (t) => {
          const { user, tokens } = await login(app)
          const device = authenticator({ backupEligible: eligible })
          t.equal((await registerPasskey(app, tokens.access_token, device)).statusCode, 201)
          const stored = () =>
            database.db
              .selectFrom('passkeys')
              .select(['counter', 'backed_up', 'device_type', 'last_used_at'])
              .where('user_id', '=', user.id)
              .executeTakeFirstOrThrow()
          const before = await stored()

          const flipped = await loginWithPasskey(app, device, { backupEligible: !eligible })
          t.equal(flipped.statusCode, 400)
          t.same(flipped.json(), {
            error: 'invalid_grant',
            error_description: 'The passkey_session or the credential is invalid, expired or used.',
          })
          t.same(await stored(), before, 'sign count, backup state and last use are unchanged')
          const [listed] = (await get('/v1/me/passkeys', tokens.access_token)).json().passkeys
          t.equal(listed.last_used_at, null, 'the refused assertion is not shown as a use')

          const honest = await loginWithPasskey(app, device)
          t.equal(honest.statusCode, 200, 'an assertion with the registered eligibility still logs in')
          t.same(claimsOf(honest.json().access_token).amr, [eligible ? 'swk' : 'hwk', 'user', 'mfa'])
        },
      )
    }
  })

  await t.test('a change of backup state alone is accepted and recorded', async (t) => {
    const { user, tokens } = await login(app)
    const device = authenticator({ backupEligible: true })
    await registerPasskey(app, tokens.access_token, device)
    const res = await loginWithPasskey(app, device, { backupEligible: true, backedUp: false })
    t.equal(res.statusCode, 200, 'BS may change between uses; only BE is fixed')
    const row = await database.db
      .selectFrom('passkeys')
      .select('backed_up')
      .where('user_id', '=', user.id)
      .executeTakeFirstOrThrow()
    t.equal(Number(row.backed_up), 0)
  })

  await t.test('refused: counter regression, wrong origin, replayed passkey_session, no UV', async (t) => {
    const { tokens } = await login(app)
    const device = authenticator()
    await registerPasskey(app, tokens.access_token, device)
    t.equal((await loginWithPasskey(app, device)).statusCode, 200)
    t.equal((await loginWithPasskey(app, device)).statusCode, 200)

    const cloned = await loginWithPasskey(app, device, { counter: 1 })
    t.equal(cloned.statusCode, 400, 'a counter that went back (a cloned authenticator) is refused')
    t.same(cloned.json(), {
      error: 'invalid_grant',
      error_description: 'The passkey_session or the credential is invalid, expired or used.',
    })

    const elsewhere = await loginWithPasskey(app, device, { origin: 'http://evil.test' })
    t.equal(elsewhere.statusCode, 400, 'an origin not in WEBAUTHN_ORIGINS is refused')

    const { options, passkey_session } = await passkeyLoginOptions(app)
    const credential = JSON.stringify(device.get(options))
    t.equal((await passkeyGrant(app, { passkey_session, credential })).statusCode, 200)
    const replay = await passkeyGrant(app, { passkey_session, credential })
    t.equal(replay.statusCode, 400, 'a passkey_session is spent by its first use')
    t.equal(replay.json().error, 'invalid_grant')

    const presenceOnly = authenticator({ userVerified: false })
    await registerPasskey(app, tokens.access_token, presenceOnly)
    const weak = await loginWithPasskey(app, presenceOnly)
    t.equal(weak.statusCode, 400, 'a passwordless login must verify the user, not only the device')

    const garbage = await passkeyGrant(app, { passkey_session, credential: 'not json' })
    t.equal(garbage.statusCode, 400)
    t.equal(garbage.json().error, 'invalid_request')
    const missing = await passkeyGrant(app, { passkey_session })
    t.equal(missing.json().error, 'invalid_request')
  })

  await t.test('challenges live 5 minutes', async (t) => {
    const { tokens } = await login(app)
    const device = authenticator()
    const creation = await app.inject({
      method: 'POST',
      url: '/v1/me/passkeys/options',
      headers: bearer(tokens.access_token),
    })
    clock.advance(5 * 60_000 + 1000)
    const late = await app.inject({
      method: 'POST',
      url: '/v1/me/passkeys',
      headers: bearer(tokens.access_token),
      payload: { response: device.create(creation.json()) },
    })
    t.equal(late.statusCode, 400, 'an expired registration challenge is refused')
    t.equal((await registerPasskey(app, tokens.access_token, device)).statusCode, 201)
    const { options, passkey_session } = await passkeyLoginOptions(app)
    clock.advance(5 * 60_000 + 1000)
    const stale = await passkeyGrant(app, {
      passkey_session,
      credential: JSON.stringify(device.get(options)),
    })
    t.equal(stale.statusCode, 400, 'an expired passkey_session is refused')
    t.equal((await loginWithPasskey(app, device)).statusCode, 200)
  })

  await t.test('a disabled user cannot log in with a passkey', async (t) => {
    const { user, tokens } = await login(app)
    const device = authenticator()
    await registerPasskey(app, tokens.access_token, device)
    const admin = await adminToken(app)
    const disabled = await app.inject({
      method: 'PATCH',
      url: `/v1/admin/users/${user.id}`,
      headers: bearer(admin),
      payload: { disabled: true },
    })
    t.equal(disabled.statusCode, 200)
    const res = await loginWithPasskey(app, device)
    t.equal(res.statusCode, 400)
    t.equal(res.json().error, 'invalid_grant')
  })

  await t.test(
    'a passkey is a second factor: mfa_required lists it and the mfa grant takes it',
    async (t) => {
      const { user, tokens } = await login(app)
      const device = authenticator({ userVerified: false })
      await registerPasskey(app, tokens.access_token, device)
      const first = await passwordGrant(app, { username: user.email, password: PASSWORD })
      t.equal(first.statusCode, 400)
      t.equal(first.json().error, 'mfa_required')
      t.same(first.json().mfa_methods, ['passkey'])
      const { options, passkey_session } = await passkeyLoginOptions(app)
      const other = authenticator()
      const { tokens: otherTokens } = await login(app)
      await registerPasskey(app, otherTokens.access_token, other)
      const wrongUser = await mfaGrant(app, {
        mfa_token: first.json().mfa_token,
        passkey_session,
        credential: JSON.stringify(other.get(options)),
      })
      t.equal(wrongUser.statusCode, 400, "another user's passkey does not finish this login")
      const again = await passkeyLoginOptions(app)
      const res = await mfaGrant(app, {
        mfa_token: first.json().mfa_token,
        passkey_session: again.passkey_session,
        credential: JSON.stringify(device.get(again.options)),
      })
      t.equal(res.statusCode, 200)
      t.same(claimsOf(res.json().access_token).amr, ['pwd', 'hwk', 'mfa'])
    },
  )

  await t.test("rename and remove; another user's passkey is not found", async (t) => {
    const { tokens } = await login(app)
    const stranger = await login(app)
    const device = authenticator()
    const { id } = (await registerPasskey(app, tokens.access_token, device)).json()
    const renamed = await app.inject({
      method: 'PATCH',
      url: `/v1/me/passkeys/${id}`,
      headers: bearer(tokens.access_token),
      payload: { name: 'Phone' },
    })
    t.equal(renamed.statusCode, 200)
    t.equal(renamed.json().name, 'Phone')
    for (const method of ['PATCH', 'DELETE'] as const) {
      const res = await app.inject({
        method,
        url: `/v1/me/passkeys/${id}`,
        headers: bearer(stranger.tokens.access_token),
        ...(method === 'PATCH' ? { payload: { name: 'Mine now' } } : {}),
      })
      t.equal(res.statusCode, 404, `${method} of another user's passkey`)
      t.equal(res.json().error, 'not_found')
    }
    const removed = await app.inject({
      method: 'DELETE',
      url: `/v1/me/passkeys/${id}`,
      headers: bearer(tokens.access_token),
    })
    t.equal(removed.statusCode, 204)
    t.same((await get('/v1/me/passkeys', tokens.access_token)).json(), { passkeys: [] })
    t.equal((await loginWithPasskey(app, device)).statusCode, 400, 'a removed passkey no longer logs in')
    const events = (await get('/v1/me/events?limit=100', tokens.access_token)).json().items
    t.ok(events.some((e: { type: string }) => e.type === 'passkey.removed'))
  })

  await t.test("the admin MFA reset removes the user's passkeys too", async (t) => {
    const { user, tokens } = await login(app)
    const device = authenticator()
    await registerPasskey(app, tokens.access_token, device)
    const admin = await adminToken(app)
    const url = `/v1/admin/users/${user.id}/mfa`
    t.equal((await get(url, admin)).json().passkeys, 1)
    t.equal((await app.inject({ method: 'DELETE', url, headers: bearer(admin) })).statusCode, 204)
    t.equal((await get(url, admin)).json().passkeys, 0)
    t.equal((await loginWithPasskey(app, device)).statusCode, 400)
    const rows = await database.db.selectFrom('passkeys').where('user_id', '=', user.id).selectAll().execute()
    t.same(rows, [])
  })

  await t.test('the metadata lists the passkey grant', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })
    t.ok(res.json().grant_types_supported.includes('urn:badge:grant-type:passkey'))
  })
})

t.test('failed passkey assertions reach the failed-sign-in limit', async (t) => {
  const { app } = await buildTestApp(t, { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_LOGIN_ACCOUNT: '3/15m' })
  const { tokens } = await login(app)
  const device = authenticator()
  await registerPasskey(app, tokens.access_token, device)
  for (let i = 0; i < 3; i++) {
    const res = await loginWithPasskey(app, device, { origin: 'http://evil.test' })
    t.equal(res.statusCode, 400)
  }
  const limited = await loginWithPasskey(app, device)
  t.equal(limited.statusCode, 429)
  t.equal(limited.json().error, 'too_many_requests')
})
