import Fastify from 'fastify'
import t, { type Test } from 'tap'
import { badgeVerify, type RemoteJwks, requireScopes } from '../../src/verify/index.js'
import { testClock } from '../helpers/clock.js'
import { bearer } from '../helpers/flows.js'
import {
  AUDIENCE,
  accessToken,
  claims,
  ISSUER,
  type JwksServer,
  signJws,
  startJwksServer,
  type TestKey,
  testKey,
} from '../helpers/jwks.js'

// The resource-server kit against a stand-in issuer: JWKS caching, refetching, and
// every reason a token is refused, with RFC 6750 answers.

const CHALLENGE = /^Bearer realm="badge", error="invalid_token", error_description="[^"]+"$/

async function kitApp(t: Test, jwks: JwksServer, options: { path?: string; fetchTimeoutMs?: number } = {}) {
  const clock = testClock()
  const app = Fastify()
  await app.register(badgeVerify, {
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUrl: `${jwks.url}${options.path ?? '/jwks.json'}`,
    fetchTimeoutMs: options.fetchTimeoutMs,
    clock,
  })
  app.get('/notes', { onRequest: [app.authenticate, requireScopes('notes:read')] }, async (request) => ({
    sub: request.auth!.claims.sub,
  }))
  app.get('/admin', { onRequest: [app.authenticate, requireScopes('notes:admin')] }, async () => ({}))
  t.teardown(() => app.close())
  const source = app.badgeVerifier.keys as RemoteJwks
  const get = (token: string) => app.inject({ url: '/notes', headers: bearer(token) })
  return { app, clock, source, get }
}

async function jwksServer(t: Test, keys: TestKey[], cacheControl?: string) {
  const server = await startJwksServer(keys, cacheControl)
  t.teardown(() => server.close())
  return server
}

const ed = testKey('EdDSA')
const es = testKey('ES256')
const rs = testKey('RS256')

t.test('Badge tokens of every published algorithm verify, and the key set is fetched once', async (t) => {
  const jwks = await jwksServer(t, [ed, es, rs])
  const { clock, get } = await kitApp(t, jwks)
  for (const key of [ed, es, rs, ed, es, rs]) {
    const token = accessToken(key, clock(), { sub: `user-of-${key.alg}` })
    const res = await get(token)
    t.equal(res.statusCode, 200, key.alg)
    t.same(res.json(), { sub: `user-of-${key.alg}` })
  }
  t.same(jwks.requests, ['/jwks.json'])
})

t.test('the key set is refetched when its Cache-Control max-age runs out, not before', async (t) => {
  const jwks = await jwksServer(t, [ed], 'public, max-age=60')
  const { clock, source, get } = await kitApp(t, jwks)
  clock.advance(59_000)
  t.equal((await get(accessToken(ed, clock()))).statusCode, 200)
  await source.settled()
  t.equal(jwks.requests.length, 1, 'still fresh at 59 s')
  clock.advance(2_000)
  t.equal((await get(accessToken(ed, clock()))).statusCode, 200, 'stale keys answer while fresh ones load')
  await source.settled()
  t.equal(jwks.requests.length, 2, 'refetched after 60 s')
  t.equal((await get(accessToken(ed, clock()))).statusCode, 200)
  await source.settled()
  t.equal(jwks.requests.length, 2, 'fresh again')
})

t.test('without a max-age the key set stays fresh for five minutes', async (t) => {
  const jwks = await jwksServer(t, [ed])
  const { clock, source, get } = await kitApp(t, jwks)
  clock.advance(299_000)
  await get(accessToken(ed, clock()))
  await source.settled()
  t.equal(jwks.requests.length, 1)
  clock.advance(2_000)
  await get(accessToken(ed, clock()))
  await source.settled()
  t.equal(jwks.requests.length, 2)
})

t.test('an unknown kid refetches the key set, at most once per five seconds', async (t) => {
  const jwks = await jwksServer(t, [ed], 'max-age=3600')
  const { clock, get } = await kitApp(t, jwks)
  clock.advance(10_000)
  const rotated = testKey('EdDSA')
  jwks.keys = [ed, rotated]
  t.equal((await get(accessToken(rotated, clock()))).statusCode, 200, 'a rotated-in key is picked up')
  t.equal(jwks.requests.length, 2)

  const later = testKey('EdDSA')
  jwks.keys = [ed, rotated, later]
  clock.advance(4_000)
  const refused = await get(accessToken(later, clock()))
  t.equal(refused.statusCode, 401, 'within five seconds of the last fetch: no new fetch')
  t.equal(refused.json().error_description, 'The access token was signed by an unknown key.')
  t.equal(jwks.requests.length, 2)

  clock.advance(1_000)
  t.equal((await get(accessToken(later, clock()))).statusCode, 200)
  t.equal(jwks.requests.length, 3)
})

t.test('concurrent requests with unknown kids share one fetch', async (t) => {
  const jwks = await jwksServer(t, [ed], 'max-age=3600')
  const { clock, get } = await kitApp(t, jwks)
  clock.advance(10_000)
  const strangers = [testKey('EdDSA'), testKey('EdDSA'), testKey('ES256')]
  const answers = await Promise.all(strangers.map((key) => get(accessToken(key, clock()))))
  t.same(
    answers.map((res) => res.statusCode),
    [401, 401, 401],
  )
  t.equal(jwks.requests.length, 2)
})

t.test('a key removed from the key set stops verifying its tokens, cached ones included', async (t) => {
  const other = testKey('EdDSA')
  const jwks = await jwksServer(t, [ed, other], 'max-age=60')
  const { clock, source, get } = await kitApp(t, jwks)
  const token = accessToken(ed, clock())
  t.equal((await get(token)).statusCode, 200)
  t.equal((await get(token)).statusCode, 200, 'now from the verified-token cache')
  jwks.keys = [other]
  clock.advance(61_000)
  await get(accessToken(other, clock()))
  await source.settled()
  const res = await get(token)
  t.equal(res.statusCode, 401)
  t.match(res.headers['www-authenticate'], CHALLENGE)
})

t.test('jku, x5u, jwk and x5c headers are never fetched or trusted', async (t) => {
  const jwks = await jwksServer(t, [ed], 'max-age=3600')
  const attacker = testKey('EdDSA')
  const evil = await jwksServer(t, [attacker])
  const { clock, get } = await kitApp(t, jwks)
  clock.advance(10_000)
  const token = signJws(
    attacker,
    {
      alg: 'EdDSA',
      typ: 'at+jwt',
      kid: attacker.kid,
      jku: `${evil.url}/jwks.json`,
      x5u: `${evil.url}/cert.pem`,
      jwk: attacker.jwk,
      x5c: ['MIIB'],
    },
    claims(clock()),
  )
  const res = await get(token)
  t.equal(res.statusCode, 401)
  t.equal(res.json().error, 'invalid_token')
  t.same(evil.requests, [], 'the URL named in the token was never fetched')
  t.same(jwks.requests, ['/jwks.json', '/jwks.json'], 'only the configured JWKS was refetched')
})

t.test('symmetric keys and keys whose alg does not fit their type are skipped', async (t) => {
  const hs = testKey('HS256')
  const confused = testKey('EdDSA')
  confused.jwk = { ...confused.jwk, alg: 'ES256' }
  const jwks = await jwksServer(t, [ed, hs, confused], 'max-age=3600')
  const { clock, source, get } = await kitApp(t, jwks)
  t.equal(source.size, 1)
  for (const key of [hs, confused]) {
    const res = await get(accessToken(key, clock()))
    t.equal(res.statusCode, 401, key.alg)
    t.equal(res.json().error, 'invalid_token')
  }
})

t.test('every rejection rule answers 401 invalid_token with the RFC 6750 challenge', async (t) => {
  const jwks = await jwksServer(t, [ed, es], 'max-age=3600')
  const { clock, get } = await kitApp(t, jwks)
  clock.advance(10_000)
  const now = clock()
  const nowS = Math.floor(now / 1000)
  const header = { alg: 'EdDSA', typ: 'at+jwt', kid: ed.kid }
  const valid = accessToken(ed, now)
  const [h, p, s] = valid.split('.') as [string, string, string]
  const other = accessToken(ed, now, { sub: 'someone-else' }).split('.')[1]!
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  // The last character of an Ed25519 signature carries 4 unused bits: this copy decodes
  // to the same bytes, and is refused anyway.
  const nonCanonical = `${s.slice(0, -1)}${alphabet[alphabet.indexOf(s.at(-1)!) ^ 1]}`
  const cases: Array<[string, string]> = [
    ['expired', accessToken(ed, now, { exp: nowS - 10 })],
    ['issued in the future', accessToken(ed, now, { iat: nowS + 60, exp: nowS + 900 })],
    ['not yet valid (nbf)', accessToken(ed, now, { nbf: nowS + 60 })],
    ['no exp', accessToken(ed, now, { exp: undefined })],
    ['exp not a number', accessToken(ed, now, { exp: String(nowS + 900) })],
    ['another issuer', accessToken(ed, now, { iss: 'http://evil.test' })],
    ['another audience', accessToken(ed, now, { aud: 'http://other.test' })],
    ['several audiences', accessToken(ed, now, { aud: [AUDIENCE, 'http://other.test'] })],
    ['no sub', accessToken(ed, now, { sub: undefined })],
    ['no typ', signJws(ed, { alg: 'EdDSA', kid: ed.kid }, claims(now))],
    ['typ JWT (an ID token, say)', signJws(ed, { ...header, typ: 'JWT' }, claims(now))],
    ['crit header', signJws(ed, { ...header, crit: ['exp'] }, claims(now))],
    ['no kid', signJws(ed, { alg: 'EdDSA', typ: 'at+jwt' }, claims(now))],
    ['unknown kid', accessToken(testKey('EdDSA', ed.kid.slice(1)), now)],
    ['alg differs from the key', signJws(es, { ...header, alg: 'ES256', kid: ed.kid }, claims(now), 'ES256')],
    ['HS256 with the public key as secret', signJws(ed, { ...header, alg: 'HS256' }, claims(now), 'HS256')],
    ['alg none, unsigned', `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${p}.`],
    ['forged by another key with our kid', signJws(testKey('EdDSA', ed.kid), header, claims(now))],
    ['payload swapped', `${h}.${other}.${s}`],
    ['non-canonical signature', `${h}.${p}.${nonCanonical}`],
    ['stray characters in the signature', `${h}.${p}.${s}~`],
    ['payload not an object', signJws(ed, header, [] as never)],
    ['header not JSON', `${Buffer.from('{alg').toString('base64url')}.${p}.${s}`],
    ['two segments', `${h}.${p}`],
    ['four segments', `${valid}.${s}`],
    ['over 8 KiB', accessToken(ed, now, { pad: 'x'.repeat(9000) })],
  ]
  for (const [name, token] of cases) {
    const res = await get(token)
    t.equal(res.statusCode, 401, name)
    t.equal(res.json().error, 'invalid_token', name)
    t.type(res.json().error_description, 'string', name)
    t.match(res.headers['www-authenticate'], CHALLENGE, name)
  }
  t.equal((await get(valid)).statusCode, 200, 'the untouched token still verifies')
})

t.test('no token, a malformed header and a missing scope get their own RFC 6750 answers', async (t) => {
  const jwks = await jwksServer(t, [ed])
  const { app, clock } = await kitApp(t, jwks)
  const none = await app.inject({ url: '/notes' })
  t.equal(none.statusCode, 401)
  t.same(none.json(), { error: 'unauthorized', error_description: 'An access token is required.' })
  t.equal(none.headers['www-authenticate'], 'Bearer realm="badge"')

  const query = await app.inject({ url: `/notes?access_token=${accessToken(ed, clock())}` })
  t.equal(query.statusCode, 401, 'a token in the query string is not read')

  const malformed = await app.inject({ url: '/notes', headers: { authorization: 'Bearer' } })
  t.equal(malformed.statusCode, 400)
  t.equal(malformed.json().error, 'invalid_request')
  t.match(malformed.headers['www-authenticate'], /^Bearer realm="badge", error="invalid_request"/)

  const scope = await app.inject({ url: '/admin', headers: bearer(accessToken(ed, clock())) })
  t.equal(scope.statusCode, 403)
  t.same(scope.json(), {
    error: 'insufficient_scope',
    error_description: 'This request needs the scope "notes:admin".',
  })
  t.equal(
    scope.headers['www-authenticate'],
    'Bearer realm="badge", error="insufficient_scope", scope="notes:admin"',
  )
  t.equal(scope.headers['cache-control'], 'no-store')
})

t.test('the service starts while the JWKS is unreachable and recovers on a later token', async (t) => {
  const jwks = await jwksServer(t, [ed])
  jwks.status = 503
  const { clock, get } = await kitApp(t, jwks)
  const first = await get(accessToken(ed, clock()))
  t.equal(first.statusCode, 401)
  t.equal(first.json().error, 'invalid_token')
  jwks.status = 200
  clock.advance(5_000)
  t.equal((await get(accessToken(ed, clock()))).statusCode, 200)
  t.equal(jwks.requests.length, 2)
})

t.test('a JWKS that never answers is abandoned after the fetch timeout', async (t) => {
  const jwks = await jwksServer(t, [ed])
  const { clock, get } = await kitApp(t, jwks, { path: '/stall', fetchTimeoutMs: 100 })
  const res = await get(accessToken(ed, clock()))
  t.equal(res.statusCode, 401)
  t.same(jwks.requests, ['/stall'])
})
