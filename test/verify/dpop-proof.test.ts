import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { normalizeHtu } from '../../src/verify/dpop/htu.js'
import { jwkThumbprint } from '../../src/verify/dpop/jwk-thumbprint.js'
import { createDpopProofVerifier } from '../../src/verify/dpop/proof.js'
import { ProofReplayCache } from '../../src/verify/dpop/replay-cache.js'
import { testClock } from '../helpers/clock.js'
import { dpopKey, proof } from '../helpers/dpop.js'

// The DPoP proof rules one by one (RFC 9449 §4.3), and the replay cache's bound.

const URL_ = 'https://api.example/notes'

t.test('RFC 7638 §3.1: the thumbprint of the RFC example key', async (t) => {
  const jwk = {
    kty: 'RSA',
    n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
    e: 'AQAB',
    alg: 'RS256',
    kid: '2011-04-29',
  }
  t.equal(jwkThumbprint(jwk), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs')
})

t.test('htu is normalized and compared without query or fragment', async (t) => {
  t.equal(normalizeHtu('HTTPS://API.Example:443/notes?x=1#top'), URL_)
  t.equal(normalizeHtu('https://api.example/a/../notes'), URL_)
  t.not(normalizeHtu('https://api.example:8443/notes'), URL_)
  t.equal(normalizeHtu('ftp://api.example/notes'), undefined)
  t.equal(normalizeHtu('/notes'), undefined)
})

t.test('proofs that break a rule are refused with the reason', async (t) => {
  const clock = testClock()
  const verifier = createDpopProofVerifier({ clock, maxAgeSeconds: 60, replayCacheSize: 1000 })
  const key = await dpopKey()
  const check = (p: string) => {
    try {
      return verifier.verifyProof({ proof: p, method: 'GET', url: URL_ })
    } catch (error) {
      return (error as Error).message
    }
  }
  const good = await proof(key, { htm: 'GET', htu: URL_, now: clock() })
  t.equal(check(good), key.jkt)
  t.match(check(good), /already used/)
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const privateJwk = privateKey.export({ format: 'jwk' })
  t.match(
    check(await proof(key, { htm: 'GET', htu: URL_, now: clock(), header: { jwk: privateJwk } })),
    /private key|signature/,
    'a jwk with private members',
  )
  const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'dpop+jwt', jwk: key.jwk })).toString('base64url')}.${Buffer.from(JSON.stringify({ htm: 'GET', htu: URL_, iat: Math.floor(clock() / 1000), jti: 'x' })).toString('base64url')}.c2ln`
  t.match(check(unsigned), /alg must be one of/, 'alg none')
  const ed = await dpopKey('EdDSA')
  t.match(
    check(await proof(key, { htm: 'GET', htu: URL_, now: clock(), header: { jwk: ed.jwk } })),
    /not a ES256 key/,
    'a jwk of another type than alg',
  )
  const forged = (await proof(key, { htm: 'GET', htu: URL_, now: clock() })).replace(/.{4}$/, 'AAAA')
  t.match(check(forged), /signature/, 'a bad signature')
  t.match(check(await proof(key, { htm: 'GET', htu: URL_, now: clock() - 61_000 })), /too old/)
  t.match(check(await proof(key, { htm: 'GET', htu: URL_, now: clock() + 6_000 })), /future/)
  t.equal(
    check(await proof(key, { htm: 'GET', htu: URL_, now: clock() + 4_000 })),
    key.jkt,
    'within the skew',
  )
})

t.test('the replay cache is bounded and forgets expired proofs', async (t) => {
  const cache = new ProofReplayCache(1000)
  let accepted = 0
  for (let i = 0; i < 5000; i++) if (cache.remember(`jti-${i}`, 100 + i, 0)) accepted++
  t.equal(accepted, 5000, 'distinct proofs are all accepted')
  t.equal(cache.size, 1000, 'never more than its capacity')
  t.equal(cache.remember('jti-4999', 10_000, 0), false, 'a recent proof is remembered')
  t.equal(cache.remember('fresh', 20_000, 6000), true)
  t.equal(cache.size, 1, 'expired entries are swept as new ones arrive')
  t.equal(cache.remember('fresh', 20_000, 6001), false)
})
