import * as oauth from 'oauth4webapi'
import t from 'tap'
import { discover, passwordLogin, resourceRequest, signUp } from '../helpers/oauth4webapi.js'
import { startServer } from '../helpers/server.js'

// A standard OAuth 2.0 client library, knowing nothing of Badge but its issuer URL,
// logs a user in, refreshes, logs out, and validates Badge's access tokens as an
// RFC 9068 resource server would.

const PASSWORD = 'correct horse battery staple'
const app: oauth.Client = { client_id: 'badge' } // a first-party public app (docs/contract.md §4)
/** What a promise rejected with (undefined if it resolved). */
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  )

t.test('oauth4webapi discovers Badge, logs in, refreshes and revokes', async (t) => {
  const server = await startServer(t)
  const { as, options } = await discover(t, server)
  t.equal(as.issuer, server.url)
  t.equal(as.token_endpoint, `${server.url}/oauth/token`)
  t.equal(as.revocation_endpoint, `${server.url}/oauth/revoke`)
  t.ok(as.grant_types_supported?.includes('password'))

  const user = await signUp(server, 'grace@example.com', PASSWORD)
  const login = await passwordLogin(as, options, {
    username: 'grace@example.com',
    password: PASSWORD,
    scope: 'profile:read',
  })
  t.equal(login.token_type, 'bearer', 'oauth4webapi normalizes token_type')
  t.equal(login.scope, 'profile:read')
  t.ok(login.refresh_token)

  const claims = await oauth.validateJwtAccessToken(
    as,
    resourceRequest(server, login.access_token),
    server.url,
    options,
  )
  t.equal(claims.sub, user.id)
  t.equal(claims.client_id, 'badge')
  t.equal(claims.scope, 'profile:read')

  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    app,
    await oauth.refreshTokenGrantRequest(as, app, oauth.None(), login.refresh_token!, options),
  )
  t.not(refreshed.refresh_token, login.refresh_token, 'the refresh token rotates')
  t.equal(refreshed.scope, 'profile:read', 'the session keeps the scope it was granted')

  await oauth.processRevocationResponse(
    await oauth.revocationRequest(as, app, oauth.None(), refreshed.refresh_token!, options),
  )
  const afterLogout = oauth.processRefreshTokenResponse(
    as,
    app,
    await oauth.refreshTokenGrantRequest(as, app, oauth.None(), refreshed.refresh_token!, options),
  )
  t.match(
    await failure(afterLogout),
    { error: 'invalid_grant', status: 400 },
    'a revoked session cannot refresh',
  )
})

t.test('a wrong password is the standard invalid_grant error', async (t) => {
  const server = await startServer(t)
  const { as, options } = await discover(t, server)
  await signUp(server, 'alan@example.com', PASSWORD)
  const response = await oauth.genericTokenEndpointRequest(
    as,
    app,
    oauth.None(),
    'password',
    { username: 'alan@example.com', password: 'not the password' },
    options,
  )
  t.match(await failure(oauth.processGenericTokenEndpointResponse(as, app, response)), {
    name: 'ResponseBodyError',
    error: 'invalid_grant',
    status: 400,
  })
})

for (const alg of ['EdDSA', 'ES256', 'RS256']) {
  t.test(`validateJwtAccessToken accepts Badge's ${alg} tokens and refuses a tampered one`, async (t) => {
    const server = await startServer(t, { SIGNING_ALG: alg })
    const { as, options } = await discover(t, server)
    await signUp(server, `${alg.toLowerCase()}@example.com`, PASSWORD)
    const { access_token } = await passwordLogin(as, options, {
      username: `${alg.toLowerCase()}@example.com`,
      password: PASSWORD,
    })
    t.equal(JSON.parse(Buffer.from(access_token.split('.')[0]!, 'base64url').toString()).alg, alg)
    const claims = await oauth.validateJwtAccessToken(
      as,
      resourceRequest(server, access_token),
      server.url,
      options,
    )
    t.equal(claims.iss, server.url)
    t.equal(claims.aud, server.url)

    const [header, payload, signature] = access_token.split('.')
    const raised = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), scope: 'admin' }),
    ).toString('base64url')
    const tampered = `${header}.${raised}.${signature}`
    await t.rejects(
      oauth.validateJwtAccessToken(as, resourceRequest(server, tampered), server.url, options),
      'a token whose claims were changed fails the signature check',
    )
    await t.rejects(
      oauth.validateJwtAccessToken(
        as,
        resourceRequest(server, access_token),
        'https://other.example',
        options,
      ),
      'a token for another audience is refused',
    )
  })
}
