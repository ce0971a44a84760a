import { connect } from 'node:net'
import type { InjectOptions } from 'fastify'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { SYSTEM_CONTEXT } from '../../src/audit/events.js'
import { loadConfig } from '../../src/config.js'
import { eachDialect, TEST_ENV } from '../helpers/app.js'
import { testClock } from '../helpers/clock.js'
import { openTestDatabase } from '../helpers/databases.js'
import { bearer, type TokenBody, uniqueEmail } from '../helpers/flows.js'
import { tamper } from '../helpers/forge.js'
import { MFA_GRANT, totpCode } from '../helpers/mfa.js'
import { PASSKEY_GRANT, SoftwareAuthenticator } from '../helpers/webauthn.js'

// Secret hygiene: every flow, at LOG_LEVEL=trace, with every log line captured. No
// password, access token, refresh token, Authorization or Cookie value may appear in
// the log, not even from a client that wrongly puts a token in the query string.

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()

await eachDialect(t, async (t, dialect) => {
  const lines: string[] = []
  const database = await openTestDatabase(t, dialect)
  const config = loadConfig({ ...TEST_ENV, LOG_LEVEL: 'trace', DATABASE_URL: database.url })
  const clock = testClock()
  const app = await buildApp(config, {
    database,
    clock,
    logStream: { write: (line) => lines.push(line) },
  })
  t.teardown(() => app.close())

  const secrets = new Map<string, string>()
  const secret = (label: string, value: string) => {
    secrets.set(label, value)
    return value
  }
  const email = uniqueEmail('hygiene')
  const password = secret('password', 'Pa55word-that-must-never-be-logged')
  const wrongPassword = secret('wrong password', 'Wr0ng-guess-that-must-never-be-logged')
  const longPassword = secret('over-long password', `L0ng-${'z'.repeat(1100)}`)
  const tokenSecrets = (body: TokenBody, label: string) => {
    secret(`${label} access token`, body.access_token)
    secret(`${label} access token signature`, body.access_token.split('.')[2]!)
    secret(`${label} refresh token`, body.refresh_token)
    return body
  }
  let requests = 0
  const send = async (options: InjectOptions) => {
    requests++
    return app.inject(options)
  }

  // Sign up, log in twice (form and JSON), use, refresh (and retry), revoke.
  const signup = await send({ method: 'POST', url: '/v1/users', payload: { email, password, name: 'Hy' } })
  t.equal(signup.statusCode, 201)
  const first = tokenSecrets(
    (
      await send({
        method: 'POST',
        url: '/oauth/token',
        headers: FORM,
        payload: form({ grant_type: 'password', username: email, password }),
      })
    ).json(),
    'form login',
  )
  const second = tokenSecrets(
    (
      await send({
        method: 'POST',
        url: '/oauth/token',
        payload: { grant_type: 'password', username: email, password },
      })
    ).json(),
    'JSON login',
  )
  t.equal((await send({ url: '/v1/me', headers: bearer(first.access_token) })).statusCode, 200)
  t.equal((await send({ url: '/v1/me/claims', headers: bearer(first.access_token) })).statusCode, 200)
  const patch = await send({
    method: 'PATCH',
    url: '/v1/me',
    headers: bearer(first.access_token),
    payload: { name: 'Hygiene' },
  })
  t.equal(patch.statusCode, 200)
  const refreshed = tokenSecrets(
    (
      await send({
        method: 'POST',
        url: '/oauth/token',
        headers: FORM,
        payload: form({ grant_type: 'refresh_token', refresh_token: first.refresh_token }),
      })
    ).json(),
    'refreshed',
  )
  const retried = await send({
    method: 'POST',
    url: '/oauth/token',
    payload: { grant_type: 'refresh_token', refresh_token: first.refresh_token },
  })
  t.equal(retried.json().refresh_token, refreshed.refresh_token, 'the grace-window retry')

  // Bad logins and bad tokens.
  for (const [username, pw] of [
    [email, wrongPassword],
    [uniqueEmail('nobody'), wrongPassword],
    [email, longPassword],
  ] as const) {
    const res = await send({
      method: 'POST',
      url: '/oauth/token',
      headers: FORM,
      payload: form({ grant_type: 'password', username, password: pw }),
    })
    t.equal(res.statusCode, 400)
  }
  const forged = secret(
    'forged token',
    tamper(second.access_token, (p) => ({ ...p, scope: 'admin' })),
  )
  t.equal((await send({ url: '/v1/me', headers: bearer(forged) })).statusCode, 401)
  const basic = secret(
    'Basic credentials',
    Buffer.from('client:client-secret-never-logged').toString('base64'),
  )
  t.equal((await send({ url: '/v1/me', headers: { authorization: `Basic ${basic}` } })).statusCode, 401)
  const cookie = secret('cookie value', 'cookie-secret-never-logged')
  await send({
    url: '/v1/me/claims',
    headers: { ...bearer(second.access_token), cookie: `__Secure-badge_rt=${cookie}` },
  })

  // Tokens and passwords wrongly sent in the query string: refused, and masked in the log.
  t.equal((await send({ url: `/v1/me?access_token=${second.access_token}` })).statusCode, 401)
  await send({
    url: `/v1/me/claims?x=1&ACCESS_TOKEN=${second.access_token}&y=2`,
    headers: bearer(second.access_token),
  })
  await send({
    method: 'POST',
    url: `/oauth/token?grant_type=password&username=${encodeURIComponent(email)}&password=${password}`,
    headers: FORM,
    payload: form({ grant_type: 'refresh_token', refresh_token: refreshed.refresh_token }),
  })
  await send({
    method: 'POST',
    url: `/oauth/revoke?token=${second.refresh_token}`,
    payload: { token: second.refresh_token },
  })
  await send({
    method: 'POST',
    url: '/oauth/revoke',
    headers: FORM,
    payload: form({ token: second.access_token }),
  })
  // Browser mode: the refresh token travels only in the cookie.
  const browser = { origin: 'http://badge.test', 'x-badge-csrf': '1' }
  const cookieLogin = await send({
    method: 'POST',
    url: '/oauth/token',
    headers: { ...FORM, ...browser },
    payload: form({ grant_type: 'password', username: email, password, refresh_token_delivery: 'cookie' }),
  })
  t.equal(cookieLogin.statusCode, 200)
  const cookieToken = /__Secure-badge_rt=([^;]+)/.exec(String(cookieLogin.headers['set-cookie']))![1]!
  secret('cookie-delivered refresh token', cookieToken)
  secret('cookie-login access token', cookieLogin.json().access_token)
  const cookieRefresh = await send({
    method: 'POST',
    url: '/oauth/token',
    headers: { ...FORM, ...browser, cookie: `__Secure-badge_rt=${cookieToken}` },
    payload: form({ grant_type: 'refresh_token', refresh_token_delivery: 'cookie' }),
  })
  t.equal(cookieRefresh.statusCode, 200)
  secret(
    'rotated cookie refresh token',
    /__Secure-badge_rt=([^;]+)/.exec(String(cookieRefresh.headers['set-cookie']))![1]!,
  )

  // A registered client: client_credentials by body and by Basic, and introspection.
  const { client, clientSecret } = await app.services.clients.createClient(
    { name: 'svc', scopes: ['profile:read'] },
    SYSTEM_CONTEXT,
  )
  secret('client secret', clientSecret)
  const clientBasic = secret(
    'client Basic header',
    Buffer.from(`${client.client_id}:${clientSecret}`).toString('base64'),
  )
  const serviceToken = await send({
    method: 'POST',
    url: '/oauth/token',
    headers: FORM,
    payload: form({
      grant_type: 'client_credentials',
      client_id: client.client_id,
      client_secret: clientSecret,
    }),
  })
  t.equal(serviceToken.statusCode, 200)
  secret('client_credentials access token', serviceToken.json().access_token)
  const viaBasic = await send({
    method: 'POST',
    url: '/oauth/token',
    headers: { ...FORM, authorization: `Basic ${clientBasic}` },
    payload: form({ grant_type: 'client_credentials' }),
  })
  t.equal(viaBasic.statusCode, 200)
  secret('client_credentials access token (Basic)', viaBasic.json().access_token)
  const introspected = await send({
    method: 'POST',
    url: '/oauth/introspect',
    headers: { ...FORM, authorization: `Basic ${clientBasic}` },
    payload: form({ token: refreshed.refresh_token }),
  })
  t.equal(introspected.statusCode, 200)
  await send({
    method: 'POST',
    url: '/oauth/token',
    headers: FORM,
    payload: form({
      grant_type: 'client_credentials',
      client_id: client.client_id,
      client_secret: wrongPassword,
    }),
  })

  // Second factors: enrol (secret, URI, QR), confirm (code, recovery codes), a login with
  // a code, a wrong code, a code and an mfa_token in the query string, a recovery code.
  const enrol = await send({
    method: 'POST',
    url: '/v1/me/mfa/totp',
    headers: bearer(refreshed.access_token),
    payload: { current_password: password },
  })
  t.equal(enrol.statusCode, 201)
  const totpSecret = secret('TOTP secret', enrol.json().secret)
  secret('otpauth URI', enrol.json().otpauth_uri)
  const confirmCode = secret('confirmation code', totpCode(totpSecret, clock))
  const confirmed = await send({
    method: 'POST',
    url: '/v1/me/mfa/totp/confirm',
    headers: bearer(refreshed.access_token),
    payload: { code: confirmCode },
  })
  t.equal(confirmed.statusCode, 200)
  const recoveryCodes: string[] = confirmed.json().recovery_codes
  for (const [i, code] of recoveryCodes.entries()) secret(`recovery code ${i}`, code)
  const mfaLogin = async () => {
    const res = await send({
      method: 'POST',
      url: '/oauth/token',
      headers: FORM,
      payload: form({ grant_type: 'password', username: email, password }),
    })
    t.equal(res.json().error, 'mfa_required')
    return secret(`mfa_token ${secrets.size}`, res.json().mfa_token)
  }
  const wrongCode = secret('wrong code', totpCode(totpSecret, clock, 7))
  const mfaToken = await mfaLogin()
  const wrongAttempt = await send({
    method: 'POST',
    url: `/oauth/token?mfa_token=${mfaToken}&otp=${wrongCode}`,
    headers: FORM,
    payload: form({ grant_type: MFA_GRANT, mfa_token: mfaToken, otp: wrongCode }),
  })
  t.equal(wrongAttempt.statusCode, 400)
  const loginCode = secret('login code', totpCode(totpSecret, clock, 1))
  const mfaTokens = tokenSecrets(
    (
      await send({
        method: 'POST',
        url: '/oauth/token',
        payload: { grant_type: MFA_GRANT, mfa_token: mfaToken, otp: loginCode },
      })
    ).json(),
    'MFA login',
  )
  const recoveryToken = await mfaLogin()
  const recovered = await send({
    method: 'POST',
    url: `/oauth/token?recovery_code=${recoveryCodes[0]}`,
    headers: FORM,
    payload: form({ grant_type: MFA_GRANT, mfa_token: recoveryToken, recovery_code: recoveryCodes[0]! }),
  })
  t.equal(recovered.statusCode, 200)
  tokenSecrets(recovered.json(), 'recovery-code login')
  const disabled = await send({
    method: 'DELETE',
    url: '/v1/me/mfa/totp',
    headers: bearer(mfaTokens.access_token),
    payload: { current_password: password },
  })
  t.equal(disabled.statusCode, 204)

  // Passkeys: registration options (challenge), registration (the attestation), login
  // options (passkey_session, challenge), a login, a refused one, and both in a query string.
  const device = new SoftwareAuthenticator({ origin: 'http://badge.test', rpId: 'badge.test' })
  const creation = await send({
    method: 'POST',
    url: '/v1/me/passkeys/options',
    headers: bearer(mfaTokens.access_token),
  })
  secret('registration challenge', creation.json().challenge)
  const attestation = device.create(creation.json())
  secret('attestation object', attestation.response.attestationObject)
  secret('registration clientDataJSON', attestation.response.clientDataJSON)
  const registered = await send({
    method: 'POST',
    url: '/v1/me/passkeys',
    headers: bearer(mfaTokens.access_token),
    payload: { response: attestation, name: 'Hygiene key' },
  })
  t.equal(registered.statusCode, 201)
  const passkeyOptions = async () => {
    const res = (await send({ method: 'POST', url: '/oauth/passkey/options' })).json()
    secret(`login challenge ${secrets.size}`, res.options.challenge)
    secret(`passkey_session ${secrets.size}`, res.passkey_session)
    return res as { options: { challenge: string }; passkey_session: string }
  }
  const assertion = (options: { challenge: string }, origin?: string) => {
    const response = device.get(options, origin ? { origin } : {})
    secret(`assertion signature ${secrets.size}`, response.response.signature)
    secret(`assertion clientDataJSON ${secrets.size}`, response.response.clientDataJSON)
    return JSON.stringify(response)
  }
  const good = await passkeyOptions()
  const passkeyLogin = await send({
    method: 'POST',
    url: '/oauth/token',
    headers: FORM,
    payload: form({
      grant_type: PASSKEY_GRANT,
      passkey_session: good.passkey_session,
      credential: assertion(good.options),
    }),
  })
  t.equal(passkeyLogin.statusCode, 200)
  tokenSecrets(passkeyLogin.json(), 'passkey login')
  const bad = await passkeyOptions()
  const badCredential = assertion(bad.options, 'http://evil.test')
  const refusedPasskey = await send({
    method: 'POST',
    url: `/oauth/token?passkey_session=${bad.passkey_session}&credential=${encodeURIComponent(badCredential)}`,
    payload: { grant_type: PASSKEY_GRANT, passkey_session: bad.passkey_session, credential: badCredential },
  })
  t.equal(refusedPasskey.statusCode, 400)

  // Malformed bodies that carry secrets.
  await send({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/json' },
    payload: `{"password":"${password}"`,
  })
  await send({ method: 'POST', url: '/v1/users', payload: { email: 'not-an-email', password } })

  // A request Node itself refuses (malformed HTTP) that carries an Authorization header.
  await app.listen({ port: 0, host: '127.0.0.1' })
  const raw = secret('raw Authorization', 'raw-socket-token-never-logged')
  await new Promise<void>((resolve) => {
    const socket = connect((app.server.address() as { port: number }).port, '127.0.0.1', () =>
      socket.write(`GET /v1/me HTTP/1.1\r\nAuthorization: Bearer ${raw}\r\nBad Header\r\n\r\n`),
    )
    socket.on('close', () => resolve())
    socket.on('error', () => {})
    socket.resume()
  })

  const log = lines.join('')
  await t.test('the log is at trace level and covers every request', async (t) => {
    t.equal(app.log.level, 'trace')
    const levels = new Set(lines.map((line) => JSON.parse(line).level as number))
    t.ok(levels.has(20) && levels.has(30), `debug and info lines were written (levels ${[...levels]})`)
    t.ok(
      lines.filter((line) => line.includes('"incoming request"')).length >= requests,
      'every request was logged',
    )
    t.match(log, /access_token=\[Redacted\]/i, 'the query-string token was masked, not dropped silently')
  })

  await t.test('no secret appears anywhere in the log', async (t) => {
    t.ok(secrets.size >= 15)
    for (const [label, value] of secrets) t.notOk(log.includes(value), `no ${label}`)
    t.notMatch(log, /rawPacket/, 'no raw request bytes (they would hold the Authorization header)')
    t.notMatch(log, /"authorization":"(?!\[Redacted\])/i, 'no Authorization header value')
    t.notMatch(log, /"cookie":"(?!\[Redacted\])/i, 'no Cookie header value')
  })
})
