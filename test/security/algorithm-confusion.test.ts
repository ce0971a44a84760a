import { createPublicKey } from 'node:crypto'
import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { expectAccepted, expectInvalidToken } from '../helpers/attack.js'
import { login } from '../helpers/flows.js'
import { decode, type HmacAlg, signHmac } from '../helpers/forge.js'

// Algorithm confusion (CVE-2015-9235 and its many descendants, fast-jwt's included):
// take the server's PUBLIC key, which anyone can fetch from the JWKS, use it as an
// HMAC secret and claim alg HS*. A verifier that lets the token pick the algorithm
// checks the HMAC with the very same bytes and accepts it.

const HMAC_ALGS: HmacAlg[] = ['HS256', 'HS384', 'HS512']

interface PublishedKey {
  kid: string
  kty: string
  [member: string]: unknown
}

/** Every form a careless verifier might turn the public key into before using it as a secret. */
function secretsFrom(jwk: PublishedKey, jwks: unknown): Array<[string, string | Buffer]> {
  const key = createPublicKey({ key: jwk as never, format: 'jwk' })
  const pem = key.export({ type: 'spki', format: 'pem' }) as string
  const der = key.export({ type: 'spki', format: 'der' })
  const raw =
    jwk.kty === 'OKP'
      ? Buffer.from(jwk.x as string, 'base64url')
      : jwk.kty === 'EC'
        ? Buffer.concat([
            Buffer.from([4]),
            Buffer.from(jwk.x as string, 'base64url'),
            Buffer.from(jwk.y as string, 'base64url'),
          ])
        : Buffer.from(jwk.n as string, 'base64url')
  const secrets: Array<[string, string | Buffer]> = [
    ['PEM', pem],
    ['trimmed PEM', pem.trim()],
    ['PEM without header lines', pem.split('\n').slice(1, -2).join('')],
    ['JWK JSON', JSON.stringify(jwk)],
    ['JWKS JSON', JSON.stringify(jwks)],
    ['raw key bytes', raw],
    ['raw key bytes, base64url', raw.toString('base64url')],
    ['DER', der],
  ]
  if (jwk.kty === 'RSA') secrets.push(['PKCS#1 PEM', key.export({ type: 'pkcs1', format: 'pem' }) as string])
  return secrets
}

for (const signingAlg of ['EdDSA', 'ES256', 'RS256']) {
  await t.test(`with ${signingAlg} signing keys`, async (t) => {
    await eachDialect(t, async (t, dialect) => {
      const { app } = await buildTestApp(t, { SIGNING_ALG: signingAlg }, dialect)
      const { tokens } = await login(app)
      const real = decode(tokens.access_token)
      t.equal(real.header.alg, signingAlg)
      await expectAccepted(t, app, tokens.access_token)
      const jwks = (await app.inject({ url: '/.well-known/jwks.json' })).json() as { keys: PublishedKey[] }
      const published = jwks.keys.find((k) => k.kid === real.header.kid)!
      t.ok(published, 'the attacker has the public key from the JWKS')
      const payload = { ...real.payload, scope: 'admin profile:read profile:write' }

      await t.test(
        'HS256/384/512 signed with the public key, in every form, is 401 invalid_token',
        async (t) => {
          for (const [form, secret] of secretsFrom(published, jwks)) {
            for (const alg of HMAC_ALGS) {
              const header: Record<string, unknown> = { ...real.header, alg }
              await expectInvalidToken(
                t,
                app,
                signHmac(alg, secret, header, payload),
                `${alg} / ${form} / real kid`,
              )
              const { kid: _kid, ...noKid } = header
              await expectInvalidToken(
                t,
                app,
                signHmac(alg, secret, noKid, payload),
                `${alg} / ${form} / no kid`,
              )
            }
          }
        },
      )

      await t.test('HS256 with the public key and the untouched payload is refused too', async (t) => {
        const header = { ...real.header, alg: 'HS256' }
        const pem = createPublicKey({ key: published as never, format: 'jwk' }).export({
          type: 'spki',
          format: 'pem',
        }) as string
        await expectInvalidToken(
          t,
          app,
          signHmac('HS256', pem, header, real.payload),
          'HS256 / PEM / same claims',
        )
      })
    })
  })
}
