import * as oauth from 'oauth4webapi'
import t from 'tap'
import { dpopKey, proof } from '../helpers/dpop.js'
import { discover, signUp } from '../helpers/oauth4webapi.js'
import { startServer } from '../helpers/server.js'

// oauth4webapi's DPoP support (RFC 9449), knowing nothing of Badge but its issuer URL,
// obtains DPoP-bound tokens, calls a protected route with them, refreshes the bound
// session, and follows Badge's nonce challenges; as a resource server it validates
// Badge's bound tokens with their proofs.

const PASSWORD = 'correct horse battery staple'
const app: oauth.Client = { client_id: 'badge' }

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  )

for (const nonce of [false, true]) {
  t.test(`oauth4webapi obtains and uses DPoP-bound tokens (DPOP_NONCE=${nonce})`, async (t) => {
    const server = await startServer(t, { DPOP_NONCE: String(nonce) })
    const { as, options } = await discover(t, server)
    t.same(as.dpop_signing_alg_values_supported, ['ES256', 'EdDSA', 'RS256', 'PS256'])
    const email = `dpop-${nonce}@example.com`
    await signUp(server, email, PASSWORD)
    const keyPair = await oauth.generateKeyPair('ES256')
    const DPoP = oauth.DPoP(app, keyPair)

    // oauth4webapi leaves the use_dpop_nonce retry to the caller (isDPoPNonceError); its
    // handle has kept the nonce Badge sent, so one retry is enough.
    const withNonceRetry = async <T>(call: () => Promise<T>): Promise<T> => {
      try {
        return await call()
      } catch (error) {
        if (!oauth.isDPoPNonceError(error)) throw error
        t.ok(nonce, 'a nonce challenge comes only with DPOP_NONCE=true')
        return call()
      }
    }

    const login = await withNonceRetry(async () =>
      oauth.processGenericTokenEndpointResponse(
        as,
        app,
        await oauth.genericTokenEndpointRequest(
          as,
          app,
          oauth.None(),
          'password',
          { username: email, password: PASSWORD },
          { ...options, DPoP },
        ),
      ),
    )
    t.equal(login.token_type, 'dpop', 'token_type DPoP (oauth4webapi lower-cases it)')
    t.ok(login.refresh_token)

    const me = await withNonceRetry(async () => {
      const res = await oauth.protectedResourceRequest(
        login.access_token,
        'GET',
        new URL(`${server.url}/v1/me`),
        undefined,
        undefined,
        { ...options, DPoP },
      )
      return res
    })
    t.equal(me.status, 200)
    t.equal(((await me.json()) as { email: string }).email, email)

    const asBearer = await fetch(`${server.url}/v1/me`, {
      headers: { authorization: `Bearer ${login.access_token}` },
    })
    t.equal(asBearer.status, 401, 'the bound token sent as Bearer')

    const refreshed = await withNonceRetry(async () =>
      oauth.processRefreshTokenResponse(
        as,
        app,
        await oauth.refreshTokenGrantRequest(as, app, oauth.None(), login.refresh_token!, {
          ...options,
          DPoP,
        }),
      ),
    )
    t.equal(refreshed.token_type, 'dpop')

    const otherKey = oauth.DPoP(app, await oauth.generateKeyPair('ES256'))
    const stolen = await failure(
      withNonceRetry(async () =>
        oauth.processRefreshTokenResponse(
          as,
          app,
          await oauth.refreshTokenGrantRequest(as, app, oauth.None(), refreshed.refresh_token!, {
            ...options,
            DPoP: otherKey,
          }),
        ),
      ),
    )
    t.ok(stolen instanceof oauth.ResponseBodyError, 'a refresh with another key is refused')
    t.equal((stolen as oauth.ResponseBodyError).error, 'invalid_grant')
  })
}

t.test("oauth4webapi, as a resource server, validates Badge's DPoP-bound tokens", async (t) => {
  const server = await startServer(t)
  const { as, options } = await discover(t, server)
  await signUp(server, 'rs@example.com', PASSWORD)
  const key = await dpopKey('ES256')
  const tokenProof = await proof(key, { htm: 'POST', htu: `${server.url}/oauth/token`, now: Date.now() })
  const res = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: tokenProof },
    body: new URLSearchParams({ grant_type: 'password', username: 'rs@example.com', password: PASSWORD }),
  })
  const { access_token: accessToken } = (await res.json()) as { access_token: string }
  const url = `${server.url}/v1/me`
  const request = new Request(url, {
    headers: {
      authorization: `DPoP ${accessToken}`,
      dpop: await proof(key, { htm: 'GET', htu: url, now: Date.now(), accessToken }),
    },
  })
  const claims = await oauth.validateJwtAccessToken(as, request, server.url, {
    ...options,
    requireDPoP: true,
  })
  t.same(claims.cnf, { jkt: key.jkt }, 'oauth4webapi matched the proof key to cnf.jkt')
})
