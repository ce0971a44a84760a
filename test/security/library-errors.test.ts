import { createVerifier } from 'fast-jwt'
import Fastify from 'fastify'
import t from 'tap'
import { errorHandlerPlugin } from '../../src/plugins/error-handler.js'
import { bearerAuthPlugin } from '../../src/verify/authenticate.js'
import { createAccessTokenVerifier, type KeySource, type VerificationKey } from '../../src/verify/verifier.js'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { expectInvalidToken } from '../helpers/attack.js'
import { login } from '../helpers/flows.js'
import {
  accessTokenClaims,
  accessTokenHeader,
  b64url,
  decode,
  serverKey,
  signHmac,
} from '../helpers/forge.js'

// Whatever the JWT library throws (fast-jwt's FAST_JWT_* codes, jose's ERR_JWS_*,
// a plain TypeError), a client sees 401 invalid_token in Badge's own words: never a
// 500, never the library's code or message.

await eachDialect(t, async (t, dialect) => {
  const { app } = await buildTestApp(t, {}, dialect)
  const key = await serverKey(app)
  const { tokens } = await login(app)
  const [h, p, s] = decode(tokens.access_token).segments as [string, string, string]
  const claims = accessTokenClaims(app)
  // fast-jwt as the oracle, configured for the server's key as a strict verifier would
  // be: it names the error each token raises, whichever check Badge runs first.
  const fastJwt = createVerifier({
    key: key.publicKey!.export({ type: 'spki', format: 'pem' }) as string,
    algorithms: [key.alg as 'EdDSA'],
    checkTyp: 'at+jwt',
    cache: false,
  })
  const libraryCode = (token: string) => {
    try {
      fastJwt(token)
      return 'accepted'
    } catch (error) {
      return (error as { code?: string }).code
    }
  }

  await t.test('each fast-jwt error a token can raise is 401 invalid_token on the route', async (t) => {
    t.equal(libraryCode(tokens.access_token), 'accepted', 'control: the oracle accepts a real token')
    const cases: Array<[string, string]> = [
      ['FAST_JWT_MALFORMED', `${h}.${b64url('not json')}.${s}`],
      ['FAST_JWT_INVALID_SIGNATURE', `${h}.${b64url(JSON.stringify({ ...claims, scope: 'admin' }))}.${s}`],
      ['FAST_JWT_MISSING_SIGNATURE', `${h}.${p}.`],
      ['FAST_JWT_INVALID_TYPE', key.sign({ ...accessTokenHeader(key), typ: 'JWT' }, claims)],
      ['FAST_JWT_INVALID_PAYLOAD', key.sign(accessTokenHeader(key), [claims])],
      [
        'FAST_JWT_INVALID_ALGORITHM',
        signHmac('HS256', 'secret', { ...accessTokenHeader(key), alg: 'HS256' }, claims),
      ],
      [
        'FAST_JWT_INVALID_CRIT_HEADER',
        key.sign({ ...accessTokenHeader(key), crit: ['urn:x'], 'urn:x': 1 }, claims),
      ],
    ]
    for (const [code, token] of cases) {
      t.equal(libraryCode(token), code, `the library raises ${code}`)
      await expectInvalidToken(t, app, token, code)
    }
  })
})

/** A key whose library throws `error` on every verification. */
function throwingKeySource(error: unknown): KeySource {
  const fail = () => {
    throw error
  }
  // Both shapes of the signature check (a library verify(token) and a raw
  // verifySignature(input, signature)), so the test holds whichever the verifier calls.
  const key = { kid: 'k1', alg: 'EdDSA', verify: fail, verifySignature: fail } as unknown as VerificationKey
  return {
    get: (kid) => (kid === 'k1' ? key : undefined),
    onChange: () => {},
    reloadForUnknownKid: async () => false,
  }
}

function libraryError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code })
}

await t.test('any error a verification key throws becomes invalid_token without its message', async (t) => {
  const thrown: Array<[string, unknown]> = [
    [
      'fast-jwt TokenError',
      libraryError(
        'FAST_JWT_INVALID_SIGNATURE',
        'FAST_JWT_INVALID_SIGNATURE: The token signature is invalid.',
      ),
    ],
    [
      'fastify-jwt error',
      libraryError('FST_JWT_AUTHORIZATION_TOKEN_INVALID', 'FST_JWT_AUTHORIZATION_TOKEN_INVALID secret'),
    ],
    [
      'jose JWSSignatureVerificationFailed',
      libraryError('ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'signature verification failed'),
    ],
    [
      'jose JWTClaimValidationFailed',
      libraryError('ERR_JWT_CLAIM_VALIDATION_FAILED', 'unexpected "iss" claim value'),
    ],
    [
      'TypeError',
      new TypeError("Cannot read properties of undefined (reading 'x') at /srv/badge/src/x.ts:1"),
    ],
    ['a thrown string', 'FAST_JWT_MALFORMED'],
    ['undefined', undefined],
  ]
  for (const [label, error] of thrown) {
    const app = Fastify({ logger: false })
    t.teardown(() => app.close())
    await app.register(errorHandlerPlugin)
    const verifier = createAccessTokenVerifier({
      keys: throwingKeySource(error),
      clock: Date.now,
      issuer: 'http://badge.test',
      audience: 'http://badge.test',
      cacheSize: 10,
    })
    await app.register(bearerAuthPlugin, { verifier })
    app.get('/v1/me', { onRequest: [app.authenticate] }, async () => ({ ok: true }))
    app.get('/v1/me/claims', { onRequest: [app.authenticate] }, async () => ({ ok: true }))
    const token = `${b64url(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' }))}.${b64url('{}')}.${b64url('sig')}`
    await expectInvalidToken(t, app, token, label)
    const res = await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } })
    t.notMatch(
      res.body,
      /verification failed|claim value|Cannot read|\/srv\//,
      `${label}: no library message`,
    )
  }
})
