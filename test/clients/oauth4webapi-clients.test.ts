import * as oauth from 'oauth4webapi'
import t, { type Test } from 'tap'
import { discover, passwordLogin, resourceRequest, signUp } from '../helpers/oauth4webapi.js'
import { type RunningServer, startServer } from '../helpers/server.js'

// Registered clients through a standard OAuth 2.0 library: the client_credentials
// grant with both client authentication methods Badge advertises, and RFC 7662
// introspection.

const ADMIN = { email: 'root@example.com', password: 'an admin password long enough' }
const PASSWORD = 'correct horse battery staple'

async function adminToken(server: RunningServer) {
  const res = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', username: ADMIN.email, password: ADMIN.password }),
  })
  return ((await res.json()) as { access_token: string }).access_token
}

async function registerClient(server: RunningServer, scopes: string[]) {
  const res = await fetch(`${server.url}/v1/admin/clients`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await adminToken(server)}` },
    body: JSON.stringify({ name: 'billing service', scopes }),
  })
  if (res.status !== 201) throw new Error(`client registration failed: ${res.status} ${await res.text()}`)
  return (await res.json()) as { client_id: string; client_secret: string }
}

/** A 401 invalid_client: oauth4webapi surfaces it as the Basic challenge Badge sends with it. */
async function rejectsAsInvalidClient(t: Test, promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as oauth.WWWAuthenticateChallengeError,
  )
  if (!error) {
    t.fail('expected a 401 invalid_client')
    return
  }
  t.match(error, { name: 'WWWAuthenticateChallengeError', status: 401 })
  t.match(error.cause, [{ scheme: 'basic', parameters: { realm: 'badge' } }])
  t.equal(((await error.response.json()) as { error: string }).error, 'invalid_client')
}

async function start(t: Test) {
  const server = await startServer(t, {
    BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
  })
  return { server, ...(await discover(t, server)) }
}

for (const [method, authenticate] of [
  ['client_secret_basic', oauth.ClientSecretBasic],
  ['client_secret_post', oauth.ClientSecretPost],
] as const) {
  t.test(`client_credentials with ${method} issues an access token resource servers accept`, async (t) => {
    const { server, as, options } = await start(t)
    t.ok(as.token_endpoint_auth_methods_supported?.includes(method), `${method} is advertised`)
    const registered = await registerClient(server, ['profile:read'])
    const client: oauth.Client = { client_id: registered.client_id }

    const tokens = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(
        as,
        client,
        authenticate(registered.client_secret),
        {},
        options,
      ),
    )
    t.equal(tokens.token_type, 'bearer')
    t.equal(tokens.scope, 'profile:read')
    t.equal(tokens.refresh_token, undefined, 'no refresh token for client_credentials (RFC 6749 §4.4.3)')

    const claims = await oauth.validateJwtAccessToken(
      as,
      resourceRequest(server, tokens.access_token),
      server.url,
      options,
    )
    t.equal(claims.sub, registered.client_id)
    t.equal(claims.client_id, registered.client_id)

    const wrongSecret = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      authenticate('not the secret'),
      {},
      options,
    )
    await rejectsAsInvalidClient(t, oauth.processClientCredentialsResponse(as, client, wrongSecret))
  })
}

t.test('introspection tells a registered client whether a token is active', async (t) => {
  const { server, as, options } = await start(t)
  t.equal(as.introspection_endpoint, `${server.url}/oauth/introspect`)
  const registered = await registerClient(server, ['profile:read'])
  const client: oauth.Client = { client_id: registered.client_id }
  const auth = oauth.ClientSecretBasic(registered.client_secret)

  const user = await signUp(server, 'ada@example.com', PASSWORD)
  const app: oauth.Client = { client_id: 'badge' }
  const login = await passwordLogin(as, options, { username: 'ada@example.com', password: PASSWORD })

  const access = await oauth.processIntrospectionResponse(
    as,
    client,
    await oauth.introspectionRequest(as, client, auth, login.access_token, options),
  )
  t.equal(access.active, true)
  t.equal(access.sub, user.id)
  t.equal(access.client_id, 'badge')

  const refresh = await oauth.processIntrospectionResponse(
    as,
    client,
    await oauth.introspectionRequest(as, client, auth, login.refresh_token!, options),
  )
  t.equal(refresh.active, true, 'a live refresh token is active')

  await oauth.processRevocationResponse(
    await oauth.revocationRequest(as, app, oauth.None(), login.refresh_token!, options),
  )
  const revoked = await oauth.processIntrospectionResponse(
    as,
    client,
    await oauth.introspectionRequest(as, client, auth, login.refresh_token!, options),
  )
  t.same(revoked, { active: false }, 'a revoked refresh token is inactive, and says nothing more')

  const anonymous = await oauth.introspectionRequest(as, app, oauth.None(), login.access_token, options)
  await rejectsAsInvalidClient(t, oauth.processIntrospectionResponse(as, app, anonymous))
})
