import t from 'tap'
import { ADMIN_ENV, adminToken, basic, createClient, form } from '../helpers/admin.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { type DpopKey, dpopAuth, dpopKey, payloadOf, proof } from '../helpers/dpop.js'
import { bearer, PASSWORD, signUp, uniqueEmail } from '../helpers/flows.js'

// RFC 9449 against Badge's own token endpoint and protected routes (docs/dpop.md): bound
// tokens are issued for a proof, work only with a fresh proof by the same key, and every
// way of reusing them without the key is refused.

const ISSUER = 'http://badge.test'
const TOKEN_URL = `${ISSUER}/oauth/token`
const ME_URL = `${ISSUER}/v1/me`
const DPOP_CHALLENGE =
  /^DPoP algs="ES256 EdDSA RS256 PS256", error="invalid_dpop_proof", error_description="[^"]+"$/

await eachDialect(t, async (t, dialect) => {
  const { app, clock } = await buildTestApp(t, ADMIN_ENV, dialect)
  const key = await dpopKey('ES256')
  const thief = await dpopKey('ES256')

  const tokenRequest = async (fields: Record<string, string>, dpop?: string) =>
    form(app, '/oauth/token', fields, dpop === undefined ? {} : { dpop })
  const login = async (k: DpopKey = key) => {
    const email = uniqueEmail('dpop')
    await signUp(app, email)
    const res = await tokenRequest(
      { grant_type: 'password', username: email, password: PASSWORD },
      await proof(k, { htm: 'POST', htu: TOKEN_URL, now: clock() }),
    )
    if (res.statusCode !== 200) throw new Error(`DPoP login failed: ${res.statusCode} ${res.body}`)
    return res.json() as { access_token: string; token_type: string; refresh_token: string }
  }
  const getMe = async (accessToken: string, fields: Partial<Parameters<typeof proof>[1]> = {}, k = key) =>
    app.inject({
      url: '/v1/me',
      headers: dpopAuth(
        accessToken,
        await proof(k, { htm: 'GET', htu: ME_URL, now: clock(), accessToken, ...fields }),
      ),
    })

  await t.test('a token request with a DPoP proof gets a DPoP-bound access token', async (t) => {
    const tokens = await login()
    t.equal(tokens.token_type, 'DPoP')
    t.same(payloadOf(tokens.access_token).cnf, { jkt: key.jkt }, 'cnf.jkt is the RFC 7638 thumbprint')
    const res = await getMe(tokens.access_token)
    t.equal(res.statusCode, 200, res.body)
  })

  await t.test('without a proof, tokens are bearer tokens as in v1', async (t) => {
    const email = uniqueEmail('bearer')
    await signUp(app, email)
    const res = await tokenRequest({ grant_type: 'password', username: email, password: PASSWORD })
    t.equal(res.json().token_type, 'Bearer')
    t.equal(payloadOf(res.json().access_token).cnf, undefined)
    t.equal((await app.inject({ url: '/v1/me', headers: bearer(res.json().access_token) })).statusCode, 200)
  })

  await t.test('an invalid proof at the token endpoint is 400 invalid_dpop_proof', async (t) => {
    const email = uniqueEmail('bad')
    await signUp(app, email)
    const fields = { grant_type: 'password', username: email, password: PASSWORD }
    for (const [why, dpop] of [
      ['wrong htu', await proof(key, { htm: 'POST', htu: `${ISSUER}/oauth/revoke`, now: clock() })],
      ['wrong htm', await proof(key, { htm: 'GET', htu: TOKEN_URL, now: clock() })],
      ['stale iat', await proof(key, { htm: 'POST', htu: TOKEN_URL, now: clock() - 120_000 })],
      ['wrong typ', await proof(key, { htm: 'POST', htu: TOKEN_URL, now: clock(), header: { typ: 'JWT' } })],
      ['not a JWT', 'not-a-proof'],
    ] as const) {
      const res = await tokenRequest(fields, dpop)
      t.equal(res.statusCode, 400, why)
      t.equal(res.json().error, 'invalid_dpop_proof', why)
    }
  })

  await t.test('the DPoP proof is checked on protected routes', async (t) => {
    const tokens = await login()
    const token = tokens.access_token

    const asBearer = await app.inject({ url: '/v1/me', headers: bearer(token) })
    t.equal(asBearer.statusCode, 401, 'a bound token sent as Bearer')
    t.equal(asBearer.json().error, 'invalid_token')
    t.match(asBearer.headers['www-authenticate'], /^DPoP algs="[^"]+", error="invalid_token"/)

    const noProof = await app.inject({ url: '/v1/me', headers: { authorization: `DPoP ${token}` } })
    t.equal(noProof.statusCode, 401, 'no proof')
    t.equal(noProof.json().error, 'invalid_dpop_proof')
    t.match(noProof.headers['www-authenticate'], DPOP_CHALLENGE)

    const once = await proof(key, { htm: 'GET', htu: ME_URL, now: clock(), accessToken: token })
    t.equal((await app.inject({ url: '/v1/me', headers: dpopAuth(token, once) })).statusCode, 200)
    const replayed = await app.inject({ url: '/v1/me', headers: dpopAuth(token, once) })
    t.equal(replayed.statusCode, 401, 'a replayed proof')
    t.equal(replayed.json().error, 'invalid_dpop_proof')
    t.match(replayed.headers['www-authenticate'], DPOP_CHALLENGE)

    const refusals: Array<[string, Awaited<ReturnType<typeof getMe>>]> = [
      ['wrong htu', await getMe(token, { htu: `${ISSUER}/v1/me/sessions` })],
      ['wrong htm', await getMe(token, { htm: 'POST' })],
      ['stale iat', await getMe(token, { now: clock() - 61_000 })],
      ['iat in the future', await getMe(token, { now: clock() + 60_000 })],
      ['proof for another access token', await getMe(token, { accessToken: `${token}x` })],
      ['a stolen token with another key', await getMe(token, {}, thief)],
    ]
    for (const [why, res] of refusals) {
      t.equal(res.statusCode, 401, why)
      t.equal(res.json().error, 'invalid_dpop_proof', why)
      t.match(res.headers['www-authenticate'], DPOP_CHALLENGE, why)
    }

    const withQuery = await app.inject({
      url: '/v1/me?x=1',
      headers: dpopAuth(
        token,
        await proof(key, { htm: 'GET', htu: ME_URL, now: clock(), accessToken: token }),
      ),
    })
    t.equal(withQuery.statusCode, 200, 'htu is compared without the query (RFC 9449 §4.3)')

    const unbound = await tokenRequest({
      grant_type: 'password',
      username: (await signUp(app, uniqueEmail('plain'))).email,
      password: PASSWORD,
    })
    const plain = unbound.json().access_token as string
    const res = await getMe(plain)
    t.equal(res.statusCode, 401, 'an unbound token under the DPoP scheme')
    t.equal(res.json().error, 'invalid_token')
  })

  await t.test('a bound token without the scope is challenged with the DPoP scheme', async (t) => {
    const tokens = await login()
    const url = `${ISSUER}/v1/admin/users`
    const res = await app.inject({
      url: '/v1/admin/users',
      headers: dpopAuth(
        tokens.access_token,
        await proof(key, { htm: 'GET', htu: url, now: clock(), accessToken: tokens.access_token }),
      ),
    })
    t.equal(res.statusCode, 403)
    t.equal(res.json().error, 'insufficient_scope')
    t.equal(
      res.headers['www-authenticate'],
      'DPoP algs="ES256 EdDSA RS256 PS256", error="insufficient_scope", scope="admin"',
      'RFC 9449 §7.1: the scheme the request used',
    )
    const plain = await tokenRequest({
      grant_type: 'password',
      username: (await signUp(app, uniqueEmail('plain-scope'))).email,
      password: PASSWORD,
    })
    const asBearer = await app.inject({ url: '/v1/admin/users', headers: bearer(plain.json().access_token) })
    t.match(asBearer.headers['www-authenticate'], /^Bearer realm="badge", error="insufficient_scope"/)
  })

  await t.test("refreshing a public client's bound session needs a proof by its key", async (t) => {
    const tokens = await login()
    const refresh = (dpop?: string) =>
      tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, dpop)
    const none = await refresh()
    t.equal(none.statusCode, 400)
    t.equal(none.json().error, 'invalid_dpop_proof')
    const other = await refresh(await proof(thief, { htm: 'POST', htu: TOKEN_URL, now: clock() }))
    t.equal(other.statusCode, 400)
    t.equal(other.json().error, 'invalid_grant')
    const right = await refresh(await proof(key, { htm: 'POST', htu: TOKEN_URL, now: clock() }))
    t.equal(right.statusCode, 200, 'the refused attempts spent nothing')
    t.equal(right.json().token_type, 'DPoP')
    t.same(payloadOf(right.json().access_token).cnf, { jkt: key.jkt })
  })

  await t.test('introspection reports the binding and metadata lists the algorithms', async (t) => {
    const admin = await adminToken(app)
    const rs = await createClient(app, admin, ['profile:read'], 'dpop api')
    const tokens = await login()
    const res = await form(
      app,
      '/oauth/introspect',
      { token: tokens.access_token },
      basic(rs.client_id, rs.client_secret),
    )
    t.equal(res.json().active, true)
    t.equal(res.json().token_type, 'DPoP')
    t.same(res.json().cnf, { jkt: key.jkt })
    const metadata = await app.inject({ url: '/.well-known/oauth-authorization-server' })
    t.same(metadata.json().dpop_signing_alg_values_supported, ['ES256', 'EdDSA', 'RS256', 'PS256'])
  })

  await t.test('EdDSA, RS256 and PS256 proofs bind tokens too', async (t) => {
    for (const alg of ['EdDSA', 'RS256', 'PS256']) {
      const k = await dpopKey(alg)
      const tokens = await login(k)
      t.same(payloadOf(tokens.access_token).cnf, { jkt: k.jkt }, alg)
      t.equal((await getMe(tokens.access_token, {}, k)).statusCode, 200, alg)
    }
  })
})

t.test('with DPOP_NONCE=true, proofs must carry the server nonce', async (t) => {
  const { app, clock } = await buildTestApp(t, { DPOP_NONCE: 'true' })
  const key = await dpopKey()
  const email = uniqueEmail('nonce')
  await signUp(app, email)
  const fields = { grant_type: 'password', username: email, password: PASSWORD }
  const first = await form(app, '/oauth/token', fields, {
    dpop: await proof(key, { htm: 'POST', htu: TOKEN_URL, now: clock() }),
  })
  t.equal(first.statusCode, 400)
  t.equal(first.json().error, 'use_dpop_nonce')
  const nonce = first.headers['dpop-nonce'] as string
  t.match(nonce, /^[A-Za-z0-9_-]{43}$/)
  const second = await form(app, '/oauth/token', fields, {
    dpop: await proof(key, { htm: 'POST', htu: TOKEN_URL, now: clock(), nonce }),
  })
  t.equal(second.statusCode, 200, second.body)
  const token = second.json().access_token as string

  const withoutNonce = await app.inject({
    url: '/v1/me',
    headers: dpopAuth(token, await proof(key, { htm: 'GET', htu: ME_URL, now: clock(), accessToken: token })),
  })
  t.equal(withoutNonce.statusCode, 401)
  t.equal(withoutNonce.json().error, 'use_dpop_nonce')
  t.match(withoutNonce.headers['www-authenticate'], /^DPoP algs="[^"]+", error="use_dpop_nonce"/)
  const fresh = withoutNonce.headers['dpop-nonce'] as string
  const withNonce = await app.inject({
    url: '/v1/me',
    headers: dpopAuth(
      token,
      await proof(key, { htm: 'GET', htu: ME_URL, now: clock(), accessToken: token, nonce: fresh }),
    ),
  })
  t.equal(withNonce.statusCode, 200)

  clock.advance(11 * 60_000)
  const stale = await form(app, '/oauth/token', fields, {
    dpop: await proof(key, { htm: 'POST', htu: TOKEN_URL, now: clock(), nonce }),
  })
  t.equal(stale.json().error, 'use_dpop_nonce', 'a nonce from two windows ago is refused')
})
