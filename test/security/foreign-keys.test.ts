import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { expectAccepted, expectInvalidToken } from '../helpers/attack.js'
import { login } from '../helpers/flows.js'
import { decode, signAsymmetric } from '../helpers/forge.js'
import {
  ATTACKER_CERTIFICATE_PEM,
  ATTACKER_CERTIFICATE_X5C,
  ATTACKER_PRIVATE_KEY_PEM,
} from './fixtures/attacker-key.js'

// Tokens signed by the attacker's own key, which the token then vouches for itself:
// a random or the real kid, the key embedded (jwk), a certificate chain (x5c), or a
// URL to fetch keys from (jku, x5u). docs/contract.md §2: keys come from Badge's own set only.

const attackerEc = createPrivateKey(ATTACKER_PRIVATE_KEY_PEM)
const attackerEcJwk = { ...createPublicKey(attackerEc).export({ format: 'jwk' }), alg: 'ES256', use: 'sig' }
const attackerEd = generateKeyPairSync('ed25519')
const attackerEdJwk = { ...attackerEd.publicKey.export({ format: 'jwk' }), alg: 'EdDSA', use: 'sig' }

/** A local server standing in for the attacker's key host; it must never be asked for anything. */
async function keyHost(t: Test) {
  const requests: string[] = []
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    if (req.url?.startsWith('/jwks')) {
      res.setHeader('content-type', 'application/json')
      res.end(
        JSON.stringify({
          keys: [
            { ...attackerEcJwk, kid: 'attacker' },
            { ...attackerEdJwk, kid: 'attacker-ed' },
          ],
        }),
      )
    } else {
      res.setHeader('content-type', 'application/pem-certificate-chain')
      res.end(ATTACKER_CERTIFICATE_PEM)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { base, requests }
}

await eachDialect(t, async (t, dialect) => {
  const { app, database } = await buildTestApp(t, {}, dialect)
  const { tokens } = await login(app)
  const real = decode(tokens.access_token)
  await expectAccepted(t, app, tokens.access_token)
  const realKid = real.header.kid as string
  const claims = { ...real.payload, scope: 'admin profile:read profile:write' }
  const es = (header: object) =>
    signAsymmetric('ES256', attackerEc, { typ: 'at+jwt', alg: 'ES256', ...header }, claims)
  const ed = (header: object) =>
    signAsymmetric('EdDSA', attackerEd.privateKey, { typ: 'at+jwt', alg: 'EdDSA', ...header }, claims)

  await t.test('an attacker-signed token with a random kid is 401 invalid_token', async (t) => {
    await expectInvalidToken(t, app, es({ kid: randomBytes(16).toString('base64url') }), 'ES256, random kid')
    await expectInvalidToken(t, app, ed({ kid: randomBytes(16).toString('base64url') }), 'EdDSA, random kid')
  })

  await t.test('an attacker-signed token with the real kid is 401 invalid_token', async (t) => {
    await expectInvalidToken(t, app, ed({ kid: realKid }), 'EdDSA (the key’s own alg), real kid')
    await expectInvalidToken(t, app, es({ kid: realKid }), 'ES256, real kid')
  })

  await t.test('a token carrying its own key in a jwk header is 401 invalid_token', async (t) => {
    await expectInvalidToken(
      t,
      app,
      ed({ kid: realKid, jwk: { ...attackerEdJwk, kid: realKid } }),
      'jwk + real kid',
    )
    await expectInvalidToken(t, app, ed({ jwk: attackerEdJwk }), 'jwk, no kid')
    await expectInvalidToken(t, app, es({ jwk: attackerEcJwk }), 'ES256 jwk, no kid')
    await expectInvalidToken(
      t,
      app,
      es({ kid: 'attacker', jwk: { ...attackerEcJwk, kid: 'attacker' } }),
      'jwk + its kid',
    )
  })

  await t.test('a token carrying a self-signed certificate in x5c is 401 invalid_token', async (t) => {
    await expectInvalidToken(t, app, es({ x5c: [ATTACKER_CERTIFICATE_X5C] }), 'x5c, no kid')
    await expectInvalidToken(t, app, es({ kid: realKid, x5c: [ATTACKER_CERTIFICATE_X5C] }), 'x5c + real kid')
    await expectInvalidToken(
      t,
      app,
      es({ kid: 'attacker', x5c: [ATTACKER_CERTIFICATE_X5C] }),
      'x5c + its kid',
    )
  })

  await t.test('jku and x5u are never fetched: the key host receives no request', async (t) => {
    const host = await keyHost(t)
    const queriesBefore = database.queryCount()
    const headers = [
      { kid: 'attacker', jku: `${host.base}/jwks.json` },
      { kid: realKid, jku: `${host.base}/jwks.json` },
      { jku: `${host.base}/jwks.json` },
      { kid: 'attacker', x5u: `${host.base}/cert.pem` },
      { kid: realKid, x5u: `${host.base}/cert.pem` },
      { x5u: `${host.base}/cert.pem` },
    ]
    for (const header of headers) await expectInvalidToken(t, app, es(header), JSON.stringify(header))
    await expectInvalidToken(
      t,
      app,
      ed({ kid: 'attacker-ed', jku: `${host.base}/jwks.json` }),
      'EdDSA via jku',
    )
    // Give any stray asynchronous fetch the chance to arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 100))
    t.same(host.requests, [], 'no request reached the URLs the tokens named')
    t.ok(
      database.queryCount() - queriesBefore <= 1,
      'unknown kids reloaded the key set at most once (throttled), with no query naming them',
    )
  })
})
