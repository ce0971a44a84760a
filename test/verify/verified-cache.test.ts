import { createPublicKey } from 'node:crypto'
import t from 'tap'
import { createVerificationKey, type VerificationKey } from '../../src/verify/signature.js'
import { VerifiedTokenCache } from '../../src/verify/verified-cache.js'
import {
  createAccessTokenVerifier,
  type KeySource,
  TokenRejected,
  UnknownKeyId,
} from '../../src/verify/verifier.js'
import { testClock } from '../helpers/clock.js'
import { AUDIENCE, accessToken, ISSUER, type TestKey, testKey } from '../helpers/jwks.js'

// The verified-token cache: a repeat token costs a lookup, never a signature check,
// and nothing about the cache lets a token through that a full check would refuse.

/** An in-memory key set whose keys count their signature checks. */
function keySet(...keys: TestKey[]) {
  const listeners = new Set<() => void>()
  const map = new Map<string, VerificationKey>()
  const checks = { count: 0 }
  for (const key of keys) {
    const inner = createVerificationKey(key.kid, key.alg, createPublicKey({ key: key.jwk, format: 'jwk' }))
    map.set(key.kid, {
      ...inner,
      verifySignature(input, signature) {
        checks.count++
        return inner.verifySignature(input, signature)
      },
    })
  }
  const source: KeySource = {
    get: (kid) => map.get(kid),
    onChange: (listener) => listeners.add(listener),
    reloadForUnknownKid: async () => false,
  }
  const remove = (kid: string) => {
    map.delete(kid)
    for (const listener of listeners) listener()
  }
  return { source, checks, remove }
}

function setup(cacheSize: number, ...keys: TestKey[]) {
  const clock = testClock()
  const set = keySet(...keys)
  const verifier = createAccessTokenVerifier({
    keys: set.source,
    clock,
    issuer: ISSUER,
    audience: AUDIENCE,
    cacheSize,
  })
  return { ...set, clock, verifier }
}

const ed = testKey('EdDSA')
const es = testKey('ES256')

t.test('a token verified once is answered from the cache without a signature check', async (t) => {
  const { verifier, checks, clock } = setup(100, ed)
  const token = accessToken(ed, clock(), { sub: 'ada' })
  const first = verifier.verifyAccessToken(token)
  const second = verifier.verifyAccessToken(token)
  t.equal(checks.count, 1)
  t.equal(second, first)
  t.equal(second.claims.sub, 'ada')
  t.ok(Object.isFrozen(second.claims), 'cached claims cannot be altered by one request for the next')
})

t.test('tampered copies of a cached token never hit the cache', async (t) => {
  const { verifier, checks, clock } = setup(100, ed)
  const token = accessToken(ed, clock(), { scope: 'notes:read' })
  verifier.verifyAccessToken(token)
  const [h, p, s] = token.split('.') as [string, string, string]
  const widened = Buffer.from(
    Buffer.from(p, 'base64url').toString().replace('notes:read', 'notes:admin'),
  ).toString('base64url')
  const flipped = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`
  for (const copy of [`${h}.${widened}.${s}`, `${h}.${p}.${flipped}`, `${token}.`]) {
    t.throws(() => verifier.verifyAccessToken(copy), TokenRejected)
  }
  t.equal(checks.count, 3, 'each copy went through a full check (the last failed before one)')
  t.equal(verifier.cache.size, 1)
})

t.test('a key removed from the key set invalidates the tokens it signed', async (t) => {
  const { verifier, clock, remove } = setup(100, ed, es)
  const byEd = accessToken(ed, clock())
  const byEs = accessToken(es, clock())
  verifier.verifyAccessToken(byEd)
  verifier.verifyAccessToken(byEs)
  t.equal(verifier.cache.size, 2)
  remove(ed.kid)
  t.equal(verifier.cache.size, 1, 'its entries leave the cache when the key set changes')
  t.throws(() => verifier.verifyAccessToken(byEd), UnknownKeyId)
  t.ok(verifier.verifyAccessToken(byEs))
})

t.test('expiry is re-checked on every cache hit', async (t) => {
  const { verifier, checks, clock } = setup(100, ed)
  const token = accessToken(ed, clock())
  verifier.verifyAccessToken(token)
  clock.advance(899_000)
  t.ok(verifier.verifyAccessToken(token), 'still valid a second before expiry')
  t.equal(checks.count, 1)
  clock.advance(10_000)
  t.throws(() => verifier.verifyAccessToken(token), { message: 'The access token expired.' })
  t.equal(verifier.cache.size, 0, 'the expired entry is gone')
})

t.test('the cache holds at most its size, and keeps a token in use over one that is not', async (t) => {
  const { verifier, checks, clock } = setup(3, ed)
  const tokens = Array.from({ length: 5 }, () => accessToken(ed, clock()))
  for (const token of tokens.slice(0, 3)) verifier.verifyAccessToken(token)
  verifier.verifyAccessToken(tokens[0]!) // now the most recently used
  verifier.verifyAccessToken(tokens[3]!)
  verifier.verifyAccessToken(tokens[4]!)
  t.equal(verifier.cache.size, 3)
  t.equal(checks.count, 5)
  verifier.verifyAccessToken(tokens[0]!)
  t.equal(checks.count, 5, 'the recently used token stayed')
  verifier.verifyAccessToken(tokens[1]!)
  t.equal(checks.count, 6, 'an unused one was dropped')
})

t.test('a token in constant use stays cached through a stream of new tokens', async (t) => {
  const { verifier, checks, clock } = setup(3, ed)
  const hot = accessToken(ed, clock(), { sub: 'hot' })
  verifier.verifyAccessToken(hot)
  for (let i = 0; i < 20; i++) {
    verifier.verifyAccessToken(accessToken(ed, clock()))
    verifier.verifyAccessToken(hot)
  }
  t.equal(checks.count, 21, 'the hot token was checked once, each passing token once')
  t.equal(verifier.cache.size, 3)
})

t.test('a cache size of 0 disables the cache', async (t) => {
  const { verifier, checks, clock } = setup(0, ed)
  const token = accessToken(ed, clock())
  for (let i = 0; i < 3; i++) verifier.verifyAccessToken(token)
  t.equal(checks.count, 3)
  t.equal(verifier.cache.size, 0)
})

t.test('refused tokens are never cached', async (t) => {
  const { verifier, checks, clock } = setup(100, ed)
  const token = accessToken(ed, clock(), { iss: 'http://evil.test' })
  t.throws(() => verifier.verifyAccessToken(token), TokenRejected)
  t.throws(() => verifier.verifyAccessToken(token), TokenRejected)
  t.equal(checks.count, 2)
  t.equal(verifier.cache.size, 0)
})

t.test('VerifiedTokenCache keeps Map semantics for hostile keys', async (t) => {
  const cache = new VerifiedTokenCache<{ exp: number; kid: string }>(2)
  t.equal(cache.get('__proto__'), undefined)
  t.equal(cache.get('constructor'), undefined)
})
