import { createLocalJWKSet, jwtVerify } from 'jose'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'
import { bearer, login } from '../helpers/flows.js'

for (const alg of ['EdDSA', 'ES256', 'RS256'] as const) {
  t.test(`with SIGNING_ALG=${alg}, tokens verify against the published JWKS with jose`, async (t) => {
    const { app } = await buildTestApp(t, { SIGNING_ALG: alg })
    const res = await app.inject({ url: '/.well-known/jwks.json' })
    t.equal(res.statusCode, 200)
    t.match(res.headers['cache-control'], /^public, max-age=\d+/)
    const jwks = res.json()
    t.equal(jwks.keys.length, 1)
    const [key] = jwks.keys
    t.equal(key.alg, alg)
    t.equal(key.use, 'sig')
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'])
      t.notOk(secret in key, `no private member ${secret}`)
    if (alg === 'RS256')
      t.ok(Buffer.from(key.n, 'base64url').length >= 256, 'RSA modulus is at least 2048 bits')

    const { tokens } = await login(app)
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, createLocalJWKSet(jwks), {
      issuer: 'http://badge.test',
      audience: 'http://badge.test',
      typ: 'at+jwt',
    })
    t.equal(protectedHeader.alg, alg)
    t.equal(protectedHeader.kid, key.kid)
    t.equal(payload.scope, 'profile:read profile:write')
  })
}

t.test('HS256 keys sign and verify but are never published', async (t) => {
  const { app } = await buildTestApp(t, { SIGNING_ALG: 'HS256' })
  t.same((await app.inject({ url: '/.well-known/jwks.json' })).json(), { keys: [] })
  const { tokens } = await login(app)
  t.equal((await app.inject({ url: '/v1/me', headers: bearer(tokens.access_token) })).statusCode, 200)
})

t.test('the signing key is created once and kept in the database', async (t) => {
  const { app, database } = await buildTestApp(t)
  const rows = await database.db.selectFrom('signing_keys').selectAll().execute()
  t.equal(rows.length, 1)
  t.equal(rows[0]!.status, 'active')
  t.equal(rows[0]!.kid, (await app.inject({ url: '/.well-known/jwks.json' })).json().keys[0].kid)
})

t.test('RFC 8414 metadata names every endpoint under the issuer', async (t) => {
  const { app } = await buildTestApp(t, { SCOPES: 'profile:read profile:write admin notes:read' })
  const res = await app.inject({ url: '/.well-known/oauth-authorization-server' })
  t.equal(res.statusCode, 200)
  const meta = res.json()
  t.equal(meta.issuer, 'http://badge.test')
  t.equal(meta.token_endpoint, 'http://badge.test/oauth/token')
  t.equal(meta.jwks_uri, 'http://badge.test/.well-known/jwks.json')
  t.equal(meta.revocation_endpoint, 'http://badge.test/oauth/revoke')
  t.equal(meta.introspection_endpoint, 'http://badge.test/oauth/introspect')
  t.same(meta.grant_types_supported, [
    'password',
    'refresh_token',
    'client_credentials',
    'urn:badge:grant-type:mfa',
    'urn:badge:grant-type:passkey',
  ])
  t.same(meta.scopes_supported, ['profile:read', 'profile:write', 'admin', 'notes:read'])
  t.ok(meta.token_endpoint_auth_methods_supported.includes('client_secret_basic'))
})
