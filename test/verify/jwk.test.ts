import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { verificationKeyFromJwk } from '../../src/verify/jwk.js'
import { freshnessSeconds } from '../../src/verify/remote-jwks.js'
import { testKey } from '../helpers/jwks.js'

// Which members of a fetched JWKS become verification keys, and for which algorithm.

t.test('Ed25519, P-256 and RSA keys verify EdDSA, ES256 and RS256, with or without alg', async (t) => {
  for (const alg of ['EdDSA', 'ES256', 'RS256'] as const) {
    const { jwk } = testKey(alg)
    const declared = verificationKeyFromJwk(jwk)
    const { alg: _omitted, ...undeclared } = jwk
    t.match(declared, { kid: jwk.kid, alg }, `${alg} with alg`)
    t.match(verificationKeyFromJwk(undeclared), { kid: jwk.kid, alg }, `${alg} without alg`)
  }
})

t.test('keys that cannot verify Badge tokens are skipped, each with its reason', async (t) => {
  const ed = testKey('EdDSA').jwk
  const weakRsa = {
    ...generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }),
    kid: 'weak',
  }
  const p384 = {
    ...generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' }),
    kid: 'p384',
  }
  const cases: Array<[string, unknown, RegExp]> = [
    ['an HS256 secret', testKey('HS256').jwk, /symmetric/],
    ['a key without kid', { ...ed, kid: undefined }, /no kid/],
    ['an encryption key', { ...ed, use: 'enc' }, /use is enc/],
    ['key_ops without verify', { ...ed, key_ops: ['encrypt'] }, /key_ops/],
    ['an alg that does not fit the key type', { ...ed, alg: 'RS256' }, /does not fit/],
    ['HS256 declared on an asymmetric key', { ...ed, alg: 'HS256' }, /does not fit/],
    ['RSA under 2048 bits', weakRsa, /2048/],
    ['an unsupported curve', p384, /unsupported/],
    ['a broken key', { ...ed, x: 'AAAA' }, /not a valid public key/],
    ['not an object', 'ed25519', /not a JSON object/],
  ]
  for (const [name, jwk, reason] of cases) {
    const result = verificationKeyFromJwk(jwk)
    t.type(result, 'string', name)
    t.match(result, reason, name)
  }
})

t.test('a JWKS member carrying a private part yields only its public key', async (t) => {
  const pair = generateKeyPairSync('ed25519')
  const jwk = { ...pair.privateKey.export({ format: 'jwk' }), kid: 'leaky', alg: 'EdDSA' }
  t.match(verificationKeyFromJwk(jwk), { kid: 'leaky', alg: 'EdDSA' })
})

t.test(
  'freshness comes from Cache-Control max-age, less Age; no-store and no-cache mean stale',
  async (t) => {
    const fresh = (headers: Record<string, string>) => freshnessSeconds(new Headers(headers), 300)
    t.equal(fresh({}), 300, 'no header: the default')
    t.equal(fresh({ 'cache-control': 'public, max-age=600, stale-while-revalidate=60' }), 600)
    t.equal(fresh({ 'cache-control': 'max-age=600', age: '100' }), 500)
    t.equal(fresh({ 'cache-control': 'max-age=60', age: '100' }), 0)
    t.equal(fresh({ 'cache-control': 'Max-Age="120"' }), 120)
    t.equal(fresh({ 'cache-control': 'no-store' }), 0)
    t.equal(fresh({ 'cache-control': 'public, no-cache' }), 0)
    t.equal(fresh({ 'cache-control': 's-maxage=900' }), 300, 's-maxage is for shared caches')
  },
)
