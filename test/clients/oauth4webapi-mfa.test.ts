import * as oauth from 'oauth4webapi'
import t from 'tap'
import { base32Decode, totpAt } from '../../src/mfa/totp.js'
import { discover, passwordLogin, resourceRequest, signUp } from '../helpers/oauth4webapi.js'
import { startServer } from '../helpers/server.js'

// oauth4webapi, knowing nothing of Badge but its issuer URL, drives a login with a second
// factor: the password grant's mfa_required error carries the mfa_token, and the MFA grant
// is an RFC 6749 §4.5 extension grant sent with the library's generic grant helper.

const PASSWORD = 'correct horse battery staple'
const MFA_GRANT = 'urn:badge:grant-type:mfa'
const app: oauth.Client = { client_id: 'badge' }
const code = (secret: string, steps = 0) =>
  totpAt(base32Decode(secret), Math.floor(Date.now() / 1000) + steps * 30)

t.test('oauth4webapi finishes mfa_required with the MFA extension grant', async (t) => {
  const server = await startServer(t)
  const { as, options } = await discover(t, server)
  t.ok(as.grant_types_supported?.includes(MFA_GRANT), 'the metadata lists the MFA grant')
  await signUp(server, 'hopper@example.com', PASSWORD)
  const first = await passwordLogin(as, options, { username: 'hopper@example.com', password: PASSWORD })
  const authorization = { authorization: `Bearer ${first.access_token}`, 'content-type': 'application/json' }
  const enrol = await fetch(`${server.url}/v1/me/mfa/totp`, {
    method: 'POST',
    headers: authorization,
    body: JSON.stringify({ current_password: PASSWORD }),
  })
  const { secret } = (await enrol.json()) as { secret: string }
  const confirm = await fetch(`${server.url}/v1/me/mfa/totp/confirm`, {
    method: 'POST',
    headers: authorization,
    body: JSON.stringify({ code: code(secret) }),
  })
  t.equal(confirm.status, 200)

  const refused = await passwordLogin(as, options, {
    username: 'hopper@example.com',
    password: PASSWORD,
  }).then(
    () => undefined,
    (error: unknown) => error,
  )
  t.type(refused, oauth.ResponseBodyError)
  const error = refused as oauth.ResponseBodyError
  t.equal(error.status, 400)
  t.equal(error.error, 'mfa_required')
  t.same(error.cause.mfa_methods, ['totp', 'recovery_code'])
  const mfaToken = error.cause.mfa_token as string

  // The current code was spent confirming: the next step's (within the accepted drift).
  const tokens = await oauth.processGenericTokenEndpointResponse(
    as,
    app,
    await oauth.genericTokenEndpointRequest(
      as,
      app,
      oauth.None(),
      MFA_GRANT,
      { mfa_token: mfaToken, otp: code(secret, 1) },
      options,
    ),
  )
  t.equal(tokens.token_type, 'bearer')
  t.ok(tokens.refresh_token)
  const claims = await oauth.validateJwtAccessToken(
    as,
    resourceRequest(server, tokens.access_token),
    server.url,
    options,
  )
  t.same(claims.amr, ['pwd', 'otp', 'mfa'])
  t.type(claims.auth_time, 'number')

  const replay = await oauth
    .processGenericTokenEndpointResponse(
      as,
      app,
      await oauth.genericTokenEndpointRequest(
        as,
        app,
        oauth.None(),
        MFA_GRANT,
        { mfa_token: mfaToken, otp: code(secret, 1) },
        options,
      ),
    )
    .then(
      () => undefined,
      (e: unknown) => e,
    )
  t.equal(
    (replay as oauth.ResponseBodyError).error,
    'invalid_grant',
    'a spent mfa_token and code are refused',
  )
})
