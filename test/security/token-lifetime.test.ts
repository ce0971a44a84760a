import t from 'tap'
import { buildTestApp, eachDialect } from '../helpers/app.js'
import { expectAccepted, expectInvalidToken } from '../helpers/attack.js'
import { login } from '../helpers/flows.js'
import { accessTokenClaims, accessTokenHeader, serverKey } from '../helpers/forge.js'

// Time-bound tokens against an injected clock: expired, not yet valid (nbf), issued in
// the future (iat). docs/contract.md §2 allows a few seconds of leeway, no more.

const LEEWAY_SECONDS = 5

await eachDialect(t, async (t, dialect) => {
  const { app, clock } = await buildTestApp(t, { ACCESS_TOKEN_TTL: '900' }, dialect)
  const key = await serverKey(app)
  const now = () => Math.floor(clock() / 1000)

  await t.test('an expired token is 401 invalid_token, even one verified and cached before', async (t) => {
    const { tokens } = await login(app)
    await expectAccepted(t, app, tokens.access_token, 'the fresh token')
    clock.advance((900 + LEEWAY_SECONDS + 1) * 1000)
    await expectInvalidToken(t, app, tokens.access_token, 'expired 1 s past the leeway')
  })

  await t.test('a token that expired long ago, never seen before, is 401 invalid_token', async (t) => {
    const claims = accessTokenClaims(app, { iat: now() - 7200, exp: now() - 3600 })
    await expectInvalidToken(t, app, key.sign(accessTokenHeader(key), claims), 'expired an hour ago')
  })

  await t.test('a token whose nbf is in the future is 401 invalid_token until then', async (t) => {
    const token = key.sign(accessTokenHeader(key), accessTokenClaims(app, { nbf: now() + 60 }))
    await expectInvalidToken(t, app, token, 'nbf in 60 s')
    clock.advance(61_000)
    await expectAccepted(t, app, token, 'the same token once nbf has passed')
  })

  await t.test('a token with a non-numeric nbf is 401 invalid_token', async (t) => {
    const token = key.sign(accessTokenHeader(key), accessTokenClaims(app, { nbf: String(now() - 60) }))
    await expectInvalidToken(t, app, token, 'nbf as a string')
  })

  await t.test('a token issued in the future (iat ahead of the clock) is 401 invalid_token', async (t) => {
    const { tokens } = await login(app)
    clock.advance(-60_000)
    await expectInvalidToken(t, app, tokens.access_token, 'iat 60 s ahead')
    clock.advance(60_000)
    await expectAccepted(t, app, tokens.access_token, 'the same token at its issue time')
  })
})
