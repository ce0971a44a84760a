import Fastify from 'fastify'
import t, { type Test } from 'tap'
import { badgeVerify, type DpopOptions, requireScopes } from '../../src/verify/index.js'
import { testClock } from '../helpers/clock.js'
import { dpopAuth, dpopKey, proof } from '../helpers/dpop.js'
import { bearer } from '../helpers/flows.js'
import { AUDIENCE, accessToken, ISSUER, startJwksServer, testKey } from '../helpers/jwks.js'

// The resource-server kit (badge/verify) enforces DPoP (RFC 9449 §7) exactly as Badge's
// own routes do: a bound token needs a fresh proof by its key, for this method and URI.

const issuerKey = testKey('EdDSA')
const NOTES = 'https://notes.example/notes'

async function kitApp(t: Test, dpop: DpopOptions = { url: 'https://notes.example' }) {
  const jwks = await startJwksServer([issuerKey])
  t.teardown(() => jwks.close())
  const clock = testClock()
  const app = Fastify()
  await app.register(badgeVerify, {
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUrl: `${jwks.url}/jwks.json`,
    clock,
    dpop,
  })
  app.get('/notes', { onRequest: [app.authenticate, requireScopes('notes:read')] }, async (request) => ({
    sub: request.auth!.claims.sub,
  }))
  t.teardown(() => app.close())
  return { app, clock }
}

t.test('the kit accepts a bound token with its proof and refuses every misuse', async (t) => {
  const { app, clock } = await kitApp(t)
  const key = await dpopKey()
  const thief = await dpopKey()
  const token = accessToken(issuerKey, clock(), { cnf: { jkt: key.jkt } })
  const call = async (fields: Partial<Parameters<typeof proof>[1]> = {}, k = key) =>
    app.inject({
      url: '/notes',
      headers: dpopAuth(
        token,
        await proof(k, { htm: 'GET', htu: NOTES, now: clock(), accessToken: token, ...fields }),
      ),
    })

  const once = await proof(key, { htm: 'GET', htu: NOTES, now: clock(), accessToken: token })
  const ok = await app.inject({ url: '/notes', headers: dpopAuth(token, once) })
  t.equal(ok.statusCode, 200, ok.body)
  const refusals: Array<[string, Awaited<ReturnType<typeof call>>]> = [
    ['a replayed proof', await app.inject({ url: '/notes', headers: dpopAuth(token, once) })],
    ['wrong htu', await call({ htu: 'https://other.example/notes' })],
    ['wrong htm', await call({ htm: 'POST' })],
    ['stale iat', await call({ now: clock() - 61_000 })],
    ['a stolen token with another key', await call({}, thief)],
    ['no proof', await app.inject({ url: '/notes', headers: { authorization: `DPoP ${token}` } })],
  ]
  for (const [why, res] of refusals) {
    t.equal(res.statusCode, 401, why)
    t.equal(res.json().error, 'invalid_dpop_proof', why)
    t.match(
      res.headers['www-authenticate'],
      /^DPoP algs="ES256 EdDSA RS256 PS256", error="invalid_dpop_proof"/,
      why,
    )
  }
  const asBearer = await app.inject({ url: '/notes', headers: bearer(token) })
  t.equal(asBearer.statusCode, 401, 'a bound token sent as Bearer')
  t.equal(asBearer.json().error, 'invalid_token')

  const plain = accessToken(issuerKey, clock())
  t.equal(
    (await app.inject({ url: '/notes', headers: bearer(plain) })).statusCode,
    200,
    'bearer tokens still work',
  )
})

t.test('without a configured url, htu is checked against the request host', async (t) => {
  const { app, clock } = await kitApp(t, {})
  const key = await dpopKey()
  const token = accessToken(issuerKey, clock(), { cnf: { jkt: key.jkt } })
  const send = async (htu: string) =>
    app.inject({
      url: '/notes',
      headers: {
        host: 'api.example:8080',
        ...dpopAuth(token, await proof(key, { htm: 'GET', htu, now: clock(), accessToken: token })),
      },
    })
  t.equal(
    (await send('http://API.example:8080/notes')).statusCode,
    200,
    'scheme and host compare case-insensitively',
  )
  t.equal((await send('http://api.example/notes')).statusCode, 401, 'another port is another URI')
})

t.test('with nonce: true, the kit challenges for a server nonce', async (t) => {
  const { app, clock } = await kitApp(t, { url: 'https://notes.example', nonce: true })
  const key = await dpopKey()
  const token = accessToken(issuerKey, clock(), { cnf: { jkt: key.jkt } })
  const first = await app.inject({
    url: '/notes',
    headers: dpopAuth(token, await proof(key, { htm: 'GET', htu: NOTES, now: clock(), accessToken: token })),
  })
  t.equal(first.statusCode, 401)
  t.equal(first.json().error, 'use_dpop_nonce')
  const nonce = first.headers['dpop-nonce'] as string
  const second = await app.inject({
    url: '/notes',
    headers: dpopAuth(
      token,
      await proof(key, { htm: 'GET', htu: NOTES, now: clock(), accessToken: token, nonce }),
    ),
  })
  t.equal(second.statusCode, 200)
})
